"""Every demo patient through every hook, in process: the cards a clinician would see in the
demo EHR (for the Markdown and size checks, and `python -m tests.unit.cds_hooks.demo_calls`
prints them all)."""

from __future__ import annotations

import json
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from tests.unit.cds_hooks.fixtures import bundle, condition, med_request

DEMO = Path(__file__).resolve().parents[3] / "demo" / "patients"
PATIENTS = sorted(p.stem for p in DEMO.glob("*.json"))
# (hook, service id, draft orders or charted observations) for every hook the service answers.
DRAFTS = {
    "pembrolizumab": ("1547545", 200),
    "tocilizumab": ("612865", 2000),
    "methylprednisolone": ("6902", 1000),
}
OBSERVATION_HOOK = "org.immunotox.observation-create"
CHARTED_AT = "2026-11-20T11:55:00Z"  # five minutes before the demo data's end


def _charted(oid: str, code: dict, value: dict | None = None, **extra) -> dict:
    r = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": code,
        "effectiveDateTime": CHARTED_AT,
        **extra,
    }
    if value is not None:
        r["valueQuantity"] = value
    return r


def _loinc(code: str, value: float, unit: str, oid: str) -> dict:
    return _charted(
        oid,
        {"coding": [{"system": "http://loinc.org", "code": code}]},
        {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
    )


# What a nurse charts in the demo EHR's panel (org.immunotox.observation-create): each set is
# sent for every demo patient; a card comes back only where it changes something.
CHARTED: dict[str, list[dict]] = {
    "fever": [_loinc("8310-5", 39.4, "Cel", "charted-temp")],
    "pressor": [
        _charted(
            "charted-ne",
            {
                "coding": [
                    {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "7512"}
                ],
                "text": "norepinephrine",
            },
            {
                "value": 12,
                "unit": "ug/min",
                "system": "http://unitsofmeasure.org",
                "code": "ug/min",
            },
        )
    ],
    "fever-and-pressure": [
        _loinc("8310-5", 38.9, "Cel", "charted-temp2"),
        _loinc("8480-6", 82, "mm[Hg]", "charted-sbp"),
    ],
    "oxygen": [_loinc("3151-8", 8, "L/min", "charted-o2")],
    "ice-score": [
        _charted("charted-ice", {"text": "ICE score"}, None, valueInteger=4),
    ],
    "ferritin": [_loinc("2276-4", 40000, "ng/mL", "charted-ferritin")],
}
CALLS: list[tuple[str, str, str | None]] = [
    ("patient-view", "immunotox-patient-view", None),
    ("encounter-start", "immunotox-encounter-start", None),
    ("problem-list-item-create", "immunotox-problem-list", None),
    *[("order-sign", "immunotox-order-sign", d) for d in DRAFTS],
    *[("order-select", "immunotox-order-select", d) for d in DRAFTS],
    *[(OBSERVATION_HOOK, "immunotox-observation-create", c) for c in CHARTED],
]


def _load(name: str) -> list[dict]:
    doc = json.loads((DEMO / f"{name}.json").read_text())
    return [e["resource"] for e in doc["entry"]]


def _prefetch(resources: list[dict]) -> tuple[str, dict]:
    from cds_hooks.registry import PREFETCH_KEY_FOR_TYPE

    key_for_type = {
        **PREFETCH_KEY_FOR_TYPE,
        "Medication": "medicationAdministrations",
        "Device": "devices",
    }
    pid = next(r["id"] for r in resources if r["resourceType"] == "Patient")
    pf: dict = {k: bundle() for k in set(key_for_type.values()) if k != "patient"}
    pf["baselineLabs"] = bundle(*[r for r in resources if r["resourceType"] == "Observation"])
    for r in resources:
        key = key_for_type.get(r["resourceType"])
        if key == "patient":
            pf["patient"] = r
        elif key:
            pf[key]["entry"].append({"resource": r})
    return pid, pf


def request_body(patient: str, hook: str, draft: str | None) -> dict:
    pid, pf = _prefetch(_load(patient))
    ctx: dict = {"userId": "Practitioner/1", "patientId": pid}
    if hook == "encounter-start":
        ctx["encounterId"] = "example-encounter"
    if hook == OBSERVATION_HOOK and draft:
        charted = [{**o, "subject": {"reference": f"Patient/{pid}"}} for o in CHARTED[draft]]
        ctx["observations"] = bundle(*charted)
    elif draft:
        code, mg = DRAFTS[draft]
        ctx["draftOrders"] = bundle(med_request("draft-1", draft, code, mg))
        if hook == "order-select":
            ctx["selections"] = ["MedicationRequest/draft-1"]
    if hook == "problem-list-item-create":
        ctx["conditions"] = bundle(condition("new-1", "G37.3", "Acute transverse myelitis"))
    return {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": ctx, "prefetch": pf}


def all_cards(client) -> Iterator[tuple[str, str, dict]]:
    """(patient, "hook[/draft]", card) for every card of every call."""
    for patient in PATIENTS:
        for hook, service, draft in CALLS:
            r = client.post(f"/cds-services/{service}", json=request_body(patient, hook, draft))
            assert r.status_code == 200, (patient, hook, r.data[:300])
            for card in r.json["cards"]:
                yield patient, hook + (f"/{draft}" if draft else ""), card


def _main() -> None:
    from unittest import mock

    from services.timeutil import parse_instant
    from tests.unit.cds_hooks.test_cds_http import make_app

    anchor = parse_instant("2026-11-20T12:00:00Z")
    with tempfile.TemporaryDirectory() as tmp, mock.patch("services.assess.now", lambda: anchor):
        client = make_app(Path(tmp)).test_client()
        only = set(sys.argv[1:])
        for patient, call, card in all_cards(client):
            if only and patient not in only:
                continue
            print(
                f"===== {patient} {call}: {card['indicator']} ({len(card.get('detail', ''))} chars, "
                f"{len(card.get('suggestions', []))} suggestions)"
            )
            print("SUMMARY:", card["summary"])
            print(card.get("detail", ""))
            for s in card.get("suggestions", []):
                print(f"  [{'*' if s.get('isRecommended') else ' '}] {s['label']}")
            print()


if __name__ == "__main__":
    _main()
