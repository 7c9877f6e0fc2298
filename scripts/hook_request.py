"""Print a complete CDS Hooks request for a demo patient, with full prefetch, its dates moved
so that the latest data is a few minutes old. For the README's curl examples:

    .venv/bin/python scripts/hook_request.py patient-view seed-pembrolizumab \
      | curl -s -H 'Content-Type: application/json' -d @- \
        http://127.0.0.1:5000/cds-services/immunotox-patient-view
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cds_hooks.registry import PREFETCH_KEY_FOR_TYPE as KEY_FOR_TYPE  # noqa: E402
from cds_hooks.registry import SERVICES  # noqa: E402
from demo.runner import shift_dates  # noqa: E402

DRAFTS = {
    "pembrolizumab": ("1547545", "pembrolizumab", 200, "mg"),
    "tocilizumab": ("612865", "tocilizumab", 1000, "mg"),
    # As the CDS Hooks sandbox drafts it: a clinical drug and a count of tablets, once daily.
    "prednisone": ("312615", "Prednisone 20 MG Oral Tablet", 1, "{tbl}"),
}


def draft(pid: str, which: str) -> dict:
    rxcui, name, dose, unit = DRAFTS[which]
    timing = (
        {"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}}
        if unit == "{tbl}"
        else {}
    )
    return {
        "resourceType": "MedicationRequest",
        "id": f"draft-{which}",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{pid}"},
        "medicationCodeableConcept": {
            "coding": [
                {
                    "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": rxcui,
                    "display": name,
                }
            ]
        },
        "dosageInstruction": [
            {
                **timing,
                "route": {"text": "oral" if unit == "{tbl}" else "IV"},
                "doseAndRate": [
                    {
                        "doseQuantity": {
                            "value": dose,
                            "unit": unit,
                            "system": "http://unitsofmeasure.org",
                            "code": unit,
                        }
                    }
                ],
            }
        ],
    }


def observation(pid: str, loinc: str, value: float, unit: str) -> dict:
    """A vital sign being charted now (observation-create)."""
    from datetime import UTC, datetime

    return {
        "resourceType": "Observation",
        "id": f"charted-{loinc}",
        "status": "final",
        "subject": {"reference": f"Patient/{pid}"},
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "effectiveDateTime": datetime.now(UTC).isoformat(timespec="seconds"),
        "valueQuantity": {
            "value": value,
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("hook", choices=sorted({s.hook for s in SERVICES.values()}))
    p.add_argument("patient", help="a demo patient, e.g. seed-pembrolizumab")
    p.add_argument(
        "--draft",
        choices=sorted(DRAFTS),
        default="pembrolizumab",
        help="order hooks: the draft order",
    )
    p.add_argument(
        "--temp", type=float, help="observation-create: a temperature (°C) being charted now"
    )
    p.add_argument(
        "--sbp", type=float, help="observation-create: a systolic pressure (mmHg) charted now"
    )
    args = p.parse_args()
    service = next(s for s in SERVICES.values() if s.hook == args.hook)
    doc = shift_dates(json.loads((ROOT / "demo" / "patients" / f"{args.patient}.json").read_text()))
    prefetch: dict = {
        k: {"resourceType": "Bundle", "type": "searchset", "entry": []} for k in service.prefetch
    }
    pid = args.patient
    for e in doc["entry"]:
        r = e["resource"]
        if r["resourceType"] == "Patient":
            prefetch["patient"], pid = r, r["id"]
        elif KEY_FOR_TYPE.get(r["resourceType"]) in prefetch:
            prefetch[KEY_FOR_TYPE[r["resourceType"]]]["entry"].append({"resource": r})
    if "baselineLabs" in prefetch:
        prefetch["baselineLabs"] = {"resourceType": "Bundle", "type": "searchset", "entry": []}
    context: dict = {"userId": "Practitioner/example", "patientId": pid}
    if args.hook == "encounter-start":
        context["encounterId"] = "example-encounter"
    if args.hook in ("order-select", "order-sign"):
        d = draft(pid, args.draft)
        context["draftOrders"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": d}],
        }
        if args.hook == "order-select":
            context["selections"] = [f"MedicationRequest/{d['id']}"]
    if args.hook == "problem-list-item-create":
        context["conditions"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {
                    "resource": {
                        "resourceType": "Condition",
                        "id": "new-problem",
                        "subject": {"reference": f"Patient/{pid}"},
                        "code": {
                            "coding": [
                                {
                                    "system": "http://hl7.org/fhir/sid/icd-10-cm",
                                    "code": "G37.3",
                                    "display": "Acute transverse myelitis",
                                }
                            ]
                        },
                    }
                }
            ],
        }
    if args.hook == "org.immunotox.observation-create":
        charted = [("8310-5", args.temp, "Cel"), ("8480-6", args.sbp, "mm[Hg]")]
        if args.temp is None and args.sbp is None:
            charted[0] = ("8310-5", 38.9, "Cel")
        context["observations"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"resource": observation(pid, code, value, unit)}
                for code, value, unit in charted
                if value is not None
            ],
        }
    json.dump(
        {
            "hook": args.hook,
            "hookInstance": str(uuid.uuid4()),
            "context": context,
            "prefetch": prefetch,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
