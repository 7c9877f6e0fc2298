"""Shared pieces of the robustness tests: demo-patient prefetch, hook bodies, status checks and
the figures written to test-output/reliability.json."""

from __future__ import annotations

import json
import os
import platform
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cds_hooks.registry import PREFETCH_KEY_FOR_TYPE

ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = ROOT / "test-output"
RELIABILITY_JSON = OUT_DIR / "reliability.json"
DEMO_DIR = ROOT / "demo" / "patients"

SERVICE_HOOKS = {
    "immunotox-patient-view": "patient-view",
    "immunotox-encounter-start": "encounter-start",
    "immunotox-order-select": "order-select",
    "immunotox-order-sign": "order-sign",
    "immunotox-problem-list": "problem-list-item-create",
    "immunotox-observation-create": "org.immunotox.observation-create",
}

SEARCH_KEYS = (
    "observations",
    "baselineLabs",
    "medicationRequests",
    "medicationAdministrations",
    "medicationStatements",
    "conditions",
    "oxygenProcedures",
    "devices",
    "allergies",
)

# -- counters ---------------------------------------------------------------------------------

_lock = threading.Lock()
COUNTS: Counter[str] = Counter()
FIGURES: dict[str, Any] = {}


def count(name: str, n: int = 1) -> None:
    with _lock:
        COUNTS[name] += n


def figure(section: str, values: dict[str, Any]) -> None:
    with _lock:
        FIGURES.setdefault(section, {}).update(values)


def write_reliability() -> dict[str, Any]:
    """Merge this session's counters and figures into test-output/reliability.json (sections
    not run this time keep their previous figures)."""
    with _lock:
        counts, figures = dict(COUNTS), json.loads(json.dumps(FIGURES))
    if not counts and not figures:
        return {}
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    try:
        doc = json.loads(RELIABILITY_JSON.read_text(encoding="utf-8"))
        if not isinstance(doc, dict):
            doc = {}
    except (OSError, ValueError):
        doc = {}
    doc.setdefault("counts", {}).update(counts)
    for section, values in figures.items():
        doc[section] = values
    doc["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    doc["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    RELIABILITY_JSON.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", "utf-8")
    return doc


# -- demo patients and hook bodies ------------------------------------------------------------


def demo_bundles() -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text("utf-8")) for p in sorted(DEMO_DIR.glob("*.json"))}


def prefetch_from_bundle(doc: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(patient id, full prefetch) for a demo patient Bundle, keyed as the services declare."""
    groups: dict[str, list[dict[str, Any]]] = {k: [] for k in SEARCH_KEYS}
    patient: dict[str, Any] | None = None
    for e in doc.get("entry", []):
        r = e["resource"]
        key = PREFETCH_KEY_FOR_TYPE.get(r["resourceType"])
        if key == "patient":
            patient = r
        elif key:
            groups[key].append(r)
    groups["baselineLabs"] = list(groups["observations"])
    assert patient is not None, "a demo Bundle without a Patient"
    pf: dict[str, Any] = {"patient": patient}
    for key, res in groups.items():
        pf[key] = searchset(res)
    return patient["id"], pf


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [
            {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": r, "search": {"mode": "match"}}
            for r in resources
        ],
    }


def draft_order(pid: str, drug: str = "pembrolizumab", mg: float = 200.0) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": f"draft-{uuid.uuid4().hex[:8]}",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {"text": drug},
        "subject": {"reference": f"Patient/{pid}"},
        "dosageInstruction": [
            {
                "text": f"{drug} {mg} mg IV",
                "doseAndRate": [
                    {
                        "doseQuantity": {
                            "value": mg,
                            "unit": "mg",
                            "system": "http://unitsofmeasure.org",
                            "code": "mg",
                        }
                    }
                ],
            }
        ],
    }


def context_for(hook: str, pid: str) -> dict[str, Any]:
    ctx: dict[str, Any] = {"userId": "Practitioner/robustness", "patientId": pid}
    if hook == "encounter-start":
        ctx["encounterId"] = "enc-robustness"
    elif hook in ("order-select", "order-sign"):
        draft = draft_order(pid)
        ctx["draftOrders"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": draft}],
        }
        if hook == "order-select":
            ctx["selections"] = [f"MedicationRequest/{draft['id']}"]
    elif hook == "problem-list-item-create":
        ctx["conditions"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {
                    "resource": {
                        "resourceType": "Condition",
                        "id": "new-cond",
                        "code": {"text": "Immune-mediated colitis"},
                        "subject": {"reference": f"Patient/{pid}"},
                    }
                }
            ],
        }
    elif hook == "org.immunotox.observation-create":
        ctx["observations"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": charted_temperature(pid)}],
        }
    return ctx


def charted_temperature(pid: str, celsius: float = 39.2, minutes_ago: float = 5) -> dict[str, Any]:
    """A body temperature being charted now (context.observations of observation-create)."""
    t = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=minutes_ago)
    return {
        "resourceType": "Observation",
        "id": f"charted-{uuid.uuid4().hex[:8]}",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8310-5"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": t.isoformat().replace("+00:00", "Z"),
        "valueQuantity": {
            "value": celsius,
            "unit": "Cel",
            "system": "http://unitsofmeasure.org",
            "code": "Cel",
        },
    }


def hook_body(
    hook: str,
    pid: str,
    prefetch: dict[str, Any] | None = None,
    fhir_server: str | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": context_for(hook, pid),
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    if fhir_server is not None:
        body["fhirServer"] = fhir_server
    if token is not None:
        body["fhirAuthorization"] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "immunotox",
        }
    return body


# -- answers ----------------------------------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise AssertionError(f"the answer holds {name}, which is not JSON (RFC 8259)")


def check_answer(resp: Any, what: str = "") -> int:
    """The contract every answer must keep: 2xx or 4xx (412 included), never 5xx, and a JSON
    body; a 4xx body carries a message. Returns the status."""
    status = resp.status_code
    assert status < 500, f"{what}: HTTP {status}: {resp.get_data(as_text=True)[:500]}"
    assert 200 <= status < 500, f"{what}: HTTP {status}"
    if resp.request.method == "OPTIONS" or status in (204, 401):
        return status
    assert resp.mimetype == "application/json", f"{what}: HTTP {status} {resp.mimetype}"
    body = json.loads(resp.get_data(), parse_constant=_no_constant)
    assert isinstance(body, dict), f"{what}: body is {type(body).__name__}"
    if status >= 400:
        assert isinstance(body.get("message"), str) and body["message"], f"{what}: {body}"
    return status
