"""No drug the patient is recorded as allergic to is proposed (`services.allergy`).

The seed patient's plan gives prednisone at 78 mg/day tapered over weeks, so it proposes PJP
prophylaxis with trimethoprim-sulfamethoxazole (ASCO 2021). A patient with a recorded
sulfonamide allergy must not be offered it."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from services.assess import assess_bundle
from tests.fhir_factory import AT

SEED = Path(__file__).resolve().parents[2] / "demo" / "patients" / "seed-pembrolizumab.json"
CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"


def seed_with(*allergies):
    doc = json.loads(SEED.read_text("utf-8"))
    pid = next(
        e["resource"]["id"] for e in doc["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    doc = copy.deepcopy(doc)
    for i, al in enumerate(allergies):
        doc["entry"].append(
            {
                "resource": {
                    "resourceType": "AllergyIntolerance",
                    "id": f"al{i}",
                    "patient": {"reference": f"Patient/{pid}"},
                    **al,
                }
            }
        )
    return assess_bundle(doc, at=AT)


def pjp(a):
    [r] = [r for r in a.recommendations if r.id == "pjp_prophylaxis"]
    return r


SULFA = {"code": {"text": "Sulfonamide antibiotics"}, "criticality": "high"}


def test_without_an_allergy_pjp_prophylaxis_names_trimethoprim_sulfamethoxazole():
    r = pjp(seed_with())
    assert r.drug == "sulfamethoxazole and trimethoprim"
    assert "trimethoprim-sulfamethoxazole" in r.text


@pytest.mark.parametrize(
    "allergy",
    [
        SULFA,
        {"code": {"text": "SULFA DRUGS"}},
        {
            "code": {
                "coding": [
                    {"system": "http://example.org/local", "code": "A77", "display": "Bactrim"}
                ]
            }
        },
        {"code": {"text": "Penicillins"}, "reaction": [{"substance": {"text": "co-trimoxazole"}}]},
    ],
    ids=["class", "class-upper-case", "brand-display", "reaction-substance"],
)
def test_a_recorded_sulfonamide_allergy_removes_the_drug_and_says_why(allergy):
    a = seed_with(allergy)
    r = pjp(a)
    assert r.drug is None and r.dose is None
    assert "Not sulfamethoxazole and trimethoprim: allergy recorded to" in r.text
    assert r.dose_missing_reason.startswith("No dose: allergy recorded to")
    assert a.to_dict()["patient"]["allergies"][0]["drugs"] == ["sulfamethoxazole and trimethoprim"]
    # Nothing else in the plan changes.
    before = {
        x.id: (x.drug, x.dose) for x in seed_with().recommendations if x.id != "pjp_prophylaxis"
    }
    after = {x.id: (x.drug, x.dose) for x in a.recommendations if x.id != "pjp_prophylaxis"}
    assert after == before


@pytest.mark.parametrize(
    "status",
    [
        {"verificationStatus": {"coding": [{"system": VERIFICATION, "code": "refuted"}]}},
        {"verificationStatus": {"coding": [{"system": VERIFICATION, "code": "entered-in-error"}]}},
        {"clinicalStatus": {"coding": [{"system": CLINICAL, "code": "resolved"}]}},
        {"clinicalStatus": {"coding": [{"system": CLINICAL, "code": "inactive"}]}},
    ],
    ids=["refuted", "entered-in-error", "resolved", "inactive"],
)
def test_a_refuted_or_past_allergy_does_not_remove_the_drug(status):
    a = seed_with({**SULFA, **status})
    assert pjp(a).drug == "sulfamethoxazole and trimethoprim"
    assert a.to_dict()["patient"]["allergies"] == []


def test_an_allergy_to_another_drug_leaves_the_plan_alone():
    a = seed_with({"code": {"text": "Penicillin"}, "criticality": "high"})
    assert pjp(a).drug == "sulfamethoxazole and trimethoprim"
    assert a.to_dict()["patient"]["allergies"] == []


def test_an_allergy_to_a_dosed_drug_leaves_no_order_for_it():
    a = seed_with(
        {
            "code": {
                "coding": [
                    {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "612865"}
                ],
                "text": "tocilizumab",
            }
        }
    )
    toci = [r for r in a.recommendations if r.id.startswith("tocilizumab")]
    assert toci and all(r.drug is None and r.dose is None for r in toci)


def test_with_a_sulfonamide_allergy_the_pjp_line_names_the_alternatives_and_never_tmp_smx():
    r = pjp(seed_with({"code": {"text": "Sulfonamide antibiotics"}, "criticality": "low"}))
    assert "(e.g. trimethoprim-sulfamethoxazole)" not in r.text
    assert not r.text.startswith("Consider PJP prophylaxis (e.g.")
    # Alternatives with their doses (PCP prophylaxis regimens, PMC10938896 Table 2).
    assert "atovaquone 1500 mg by mouth once daily with food" in r.text
    assert "inhaled pentamidine 300 mg every 4 weeks" in r.text
    assert "dapsone 100 mg by mouth daily only if the sulfonamide reaction was mild" in r.text
    assert "never after Stevens-Johnson syndrome" in r.text
    assert "choose another agent" not in r.text
    assert r.drug is None and r.dose is None


def test_a_high_criticality_sulfonamide_allergy_leaves_dapsone_out():
    r = pjp(seed_with(SULFA))
    assert "atovaquone 1500 mg by mouth once daily" in r.text
    assert "dapsone" not in r.text


def test_an_atovaquone_allergy_as_well_leaves_atovaquone_out():
    r = pjp(seed_with(SULFA, {"code": {"text": "Atovaquone"}}))
    assert "atovaquone" not in r.text.split("instead:")[1]
    assert "inhaled pentamidine 300 mg" in r.text


def test_without_an_allergy_no_alternatives_are_listed():
    r = pjp(seed_with())
    assert r.text.startswith("Consider PJP prophylaxis (e.g. trimethoprim-sulfamethoxazole)")
    assert "atovaquone" not in r.text
