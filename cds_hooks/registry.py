"""The services this server offers, declared as data and keyed by service id.

Discovery (`GET /cds-services`) is built from `SERVICES`; each service names its hook, its
prefetch templates (from one shared catalogue) and the card builder that answers it. Two services
on one hook are two entries here, never an overwrite.

https://cds-hooks.hl7.org/2.0/#discovery
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from services.knowledge import codes
from services.knowledge import icans as ki
from services.record import PREFETCH_KEY_FOR_TYPE, RECORD, RESOURCE_TYPES


def _codes_param(code_list: list[str]) -> str:
    return ",".join(code_list)


# How each search of the record (`services.record.RECORD`) is narrowed in a prefetch template:
# the codes the reader uses, and a page size.
_COUNT = {"Observation": 1000, "MedicationAdministration": 500}


def _narrowing() -> dict[str, list[str]]:
    return {
        # ICE and CAPD scores by the product's own code (no LOINC code exists); by name only
        # they reach a hook when the EHR sends the Observations unnarrowed. Level of
        # consciousness and the Glasgow coma score by their LOINC codes.
        "Observation": [c for s in codes.SERIES for c in s.codes]
        + [t.local_code for t in ki.TOOLS]
        + [*ki.LOC_OBSERVATION_CODES, *ki.GCS_CODES],
        # Procedures are not narrowed: a T-cell therapy infusion is often charted as a
        # Procedure under a local code, named only in its text.
    }


@cache
def prefetch_catalogue() -> dict[str, str]:
    """Prefetch templates by key, with `{{context.patientId}}` tokens: one per part of the record
    (`services.record.RECORD`), and the baseline labs of the order check.

    Only the query features the specification recommends: type-level search by patient, token
    search by `system|code`, `_count`. https://cds-hooks.hl7.org/2.0/#prefetch-template
    """
    from services.knowledge.orders import BASELINE_WORKUP

    p = "{{context.patientId}}"
    narrowing = _narrowing()
    out: dict[str, str] = {}
    for part in RECORD:
        t = part.resource_type
        if t == "Patient":
            out[part.prefetch_key] = f"Patient/{p}"
            continue
        code = f"&code={_codes_param(narrowing[t])}" if t in narrowing else ""
        out[part.prefetch_key] = f"{t}?patient={p}{code}&_count={_COUNT.get(t, 200)}"
    baseline_codes = [c for item in BASELINE_WORKUP for c in item.codes]
    out["baselineLabs"] = f"Observation?patient={p}&code={_codes_param(baseline_codes)}&_count=200"
    return out


# Keys whose data the service cannot work without: 412 when neither prefetched nor fetchable.
# (A record without observations is still assessed: its grades say what is missing.)
REQUIRED_KEYS = frozenset({PREFETCH_KEY_FOR_TYPE["Patient"]})

_ASSESS_KEYS = tuple(p.prefetch_key for p in RECORD)

_USAGE = (
    "Needs either the prefetch listed here or fhirServer with fhirAuthorization granting "
    f"patient-level read of {', '.join(RESOURCE_TYPES[:-1])} and {RESOURCE_TYPES[-1]}. Calls "
    "must carry a signed client JWT."
)


@dataclass(frozen=True)
class ServiceDef:
    id: str
    hook: str
    title: str
    description: str
    prefetch_keys: tuple[str, ...]
    builder: str  # name of the card builder in cds_hooks.cards
    usage_requirements: str = _USAGE

    @property
    def prefetch(self) -> dict[str, str]:
        cat = prefetch_catalogue()
        return {k: cat[k] for k in self.prefetch_keys}

    def discovery(self) -> dict[str, Any]:
        return {
            "hook": self.hook,
            "title": self.title,
            "description": self.description,
            "id": self.id,
            "prefetch": self.prefetch,
            "usageRequirements": self.usage_requirements,
        }


SERVICES: dict[str, ServiceDef] = {
    s.id: s
    for s in (
        ServiceDef(
            "immunotox-patient-view",
            "patient-view",
            "Immunotherapy toxicity: CRS grade and irAE plan",
            "For a patient exposed to a checkpoint inhibitor, CAR T cells or a T-cell engager: "
            "grades cytokine release syndrome under Lee 2014, ASTCT 2019 and CTCAE v5.0, "
            "recognises immune-related adverse events and proposes the plan, dosed for the "
            "patient's weight, with sources.",
            _ASSESS_KEYS,
            "assessment_cards",
        ),
        ServiceDef(
            "immunotox-encounter-start",
            "encounter-start",
            "Immunotherapy toxicity at encounter start",
            "At the start of an encounter, the same CRS grade and irAE plan as the patient-view "
            "service, for a patient exposed to immunotherapy.",
            _ASSESS_KEYS,
            "assessment_cards",
        ),
        ServiceDef(
            "immunotox-order-select",
            "order-select",
            "Immunotherapy order check (selection)",
            "Checks selected orders: a checkpoint inhibitor while an irAE says hold or stop; a "
            "tocilizumab, corticosteroid or immune globulin dose that disagrees with the plan for "
            "this weight or exceeds its cap; a first checkpoint inhibitor without baseline labs.",
            (*_ASSESS_KEYS, "baselineLabs"),
            "order_cards",
        ),
        ServiceDef(
            "immunotox-order-sign",
            "order-sign",
            "Immunotherapy order check (signing)",
            "The order-select checks, run again on the orders about to be signed.",
            (*_ASSESS_KEYS, "baselineLabs"),
            "order_cards",
        ),
        ServiceDef(
            "immunotox-problem-list",
            "problem-list-item-create",
            "Immune-related adverse event on the problem list",
            "When a condition added to the problem list is an immune-related adverse event in a "
            "patient on a checkpoint inhibitor: the grade, the checkpoint-inhibitor action and "
            "the plan for it.",
            _ASSESS_KEYS,
            "problem_list_cards",
        ),
        ServiceDef(
            "immunotox-observation-create",
            "org.immunotox.observation-create",
            "Immunotherapy toxicity as vital signs and labs are charted",
            "When a vital sign or lab is recorded for a patient exposed to immunotherapy: grades "
            "the record without and with the new observations and answers only when something "
            "changed: a CRS grade (primary system) or an irAE grade rose, or fever, hypotension "
            "or an oxygen requirement is new; the change is in the summary.",
            _ASSESS_KEYS,
            "observation_cards",
        ),
    )
}


def discovery() -> dict[str, Any]:
    return {"services": [s.discovery() for s in SERVICES.values()]}
