"""Latency of the patient-view service against a do-nothing endpoint receiving the same body.

Starts `immunotox serve` (gunicorn) in a subprocess with CDS_AUTH=off and BENCH_FLOOR on, builds a
realistic prefetch (about 1,000 Observations and 50 MedicationAdministrations over four days),
then posts it alternately to `/cds-services/immunotox-patient-view` and to the hidden
`/cds-services/_floor` route (which reads and parses the body and answers no cards). Prints p50
and p99 for both and the ratio: the cost of the assessment over transport and JSON parsing.

    .venv/bin/python bench/hooks_bench.py --requests 200 --concurrency 4 --workers 2
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from immunotox.demo import app_server, free_port

LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
PID = "bench-patient"

# (LOINC code, unit, typical value, spread) for the vital signs and labs the service reads.
SERIES = [
    ("8310-5", "Cel", 38.2, 0.8),
    ("8867-4", "/min", 105, 15),
    ("9279-1", "/min", 22, 4),
    ("8480-6", "mm[Hg]", 95, 15),
    ("8462-4", "mm[Hg]", 55, 10),
    ("59408-5", "%", 93, 3),
    ("1988-5", "mg/L", 150, 60),
    ("2276-4", "ng/mL", 2500, 800),
    ("1742-6", "U/L", 60, 20),
    ("2160-0", "mg/dL", 1.1, 0.3),
]


def _obs(i: int, code: str, unit: str, value: float, when: datetime) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"obs-{i}",
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
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": f"Patient/{PID}"},
        "effectiveDateTime": when.isoformat(),
        "valueQuantity": {
            "value": round(value, 2),
            "unit": unit,
            "system": "http://unitsofmeasure.org",
            "code": unit,
        },
    }


def _admin(i: int, drug: str, rxnorm: str, start: datetime, dose: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "MedicationAdministration",
        "id": f"ma-{i}",
        "status": "completed",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": rxnorm}], "text": drug},
        "subject": {"reference": f"Patient/{PID}"},
        "effectivePeriod": {
            "start": start.isoformat(),
            "end": (start + timedelta(hours=1)).isoformat(),
        },
        "dosage": dose,
    }


def build_prefetch(n_obs: int = 1000, n_admin: int = 50, seed: int = 7) -> dict[str, Any]:
    rnd = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - timedelta(days=4)
    obs = [_obs(0, "29463-7", "kg", 72.0, now - timedelta(days=1))]
    step = (now - start) / (n_obs // len(SERIES))
    i = 1
    while len(obs) < n_obs:
        t = start + step * (i // len(SERIES))
        code, unit, mean, spread = SERIES[i % len(SERIES)]
        obs.append(_obs(i, code, unit, rnd.gauss(mean, spread / 2), t))
        i += 1
    admins = [
        _admin(
            0,
            "pembrolizumab",
            "1547545",
            now - timedelta(days=12),
            {"dose": {"value": 200, "unit": "mg"}},
        )
    ]
    for j in range(1, n_admin):
        t = start + timedelta(hours=2 * j)
        admins.append(
            _admin(
                j,
                "norepinephrine",
                "7512",
                t,
                {
                    "rateQuantity": {
                        "value": rnd.choice([4, 6, 8, 12]),
                        "unit": "ug/min",
                        "system": "http://unitsofmeasure.org",
                        "code": "ug/min",
                    }
                },
            )
        )

    def bundle(rs: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(rs),
            "entry": [{"resource": r} for r in rs],
        }

    empty = bundle([])
    return {
        "patient": {
            "resourceType": "Patient",
            "id": PID,
            "birthDate": "1961-04-02",
            "gender": "female",
        },
        "observations": bundle(obs),
        "medicationRequests": empty,
        "medicationAdministrations": bundle(admins),
        "medicationStatements": empty,
        "conditions": empty,
        "oxygenProcedures": empty,
        "devices": empty,
    }


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, round(p / 100 * (len(xs) - 1))))
    return xs[k]


def run(n: int, concurrency: int, workers: int) -> dict[str, Any]:
    prefetch = build_prefetch()
    with tempfile.TemporaryDirectory() as instance:
        env = {
            "IMMUNOTOX_CDS_AUTH": "off",
            "IMMUNOTOX_BENCH_FLOOR": "1",
            "IMMUNOTOX_INSTANCE_DIR": instance,
            "IMMUNOTOX_HOOK_DEADLINE_S": "10",
        }
        with app_server("127.0.0.1", free_port(), workers, env, Path(instance)) as base:
            local = __import__("threading").local()

            def one(path: str) -> tuple[float, int, int]:
                s = getattr(local, "s", None) or requests.Session()
                local.s = s
                body = json.dumps(
                    {
                        "hook": "patient-view",
                        "hookInstance": str(uuid.uuid4()),
                        "context": {"userId": "Practitioner/bench", "patientId": PID},
                        "prefetch": prefetch,
                    }
                )
                t0 = time.perf_counter()
                r = s.post(
                    f"{base}{path}",
                    data=body,
                    headers={"Content-Type": "application/json"},
                    timeout=30,
                )
                ms = (time.perf_counter() - t0) * 1000
                return (
                    ms,
                    r.status_code,
                    len(r.json().get("cards", [])) if r.status_code == 200 else -1,
                )

            for path in ("/cds-services/immunotox-patient-view", "/cds-services/_floor"):
                for _ in range(5):  # warm-up: imports, caches, connections
                    one(path)
            results: dict[str, list[tuple[float, int, int]]] = {"service": [], "floor": []}
            jobs = [
                ("service", "/cds-services/immunotox-patient-view"),
                ("floor", "/cds-services/_floor"),
            ] * n
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                for name, res in zip(
                    [j[0] for j in jobs], pool.map(lambda j: one(j[1]), jobs), strict=True
                ):
                    results[name].append(res)
    out: dict[str, Any] = {
        "requests_each": n,
        "concurrency": concurrency,
        "workers": workers,
        "observations": len(prefetch["observations"]["entry"]),
        "administrations": len(prefetch["medicationAdministrations"]["entry"]),
    }
    for name, res in results.items():
        ms = [r[0] for r in res]
        out[name] = {
            "p50_ms": round(_pct(ms, 50), 1),
            "p99_ms": round(_pct(ms, 99), 1),
            "mean_ms": round(statistics.fmean(ms), 1),
            "statuses": sorted({r[1] for r in res}),
            "cards": sorted({r[2] for r in res}),
        }
    out["ratio_p50"] = round(out["service"]["p50_ms"] / max(out["floor"]["p50_ms"], 0.001), 2)
    out["ratio_p99"] = round(out["service"]["p99_ms"] / max(out["floor"]["p99_ms"], 0.001), 2)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=100, help="requests to each endpoint")
    p.add_argument("--concurrency", type=int, default=2)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--json", action="store_true", help="print JSON")
    args = p.parse_args(argv)
    out = run(args.requests, args.concurrency, args.workers)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(
        f"{out['observations']} Observations, {out['administrations']} MedicationAdministrations; "
        f"{args.requests} requests each, concurrency {args.concurrency}, {args.workers} workers"
    )
    for name in ("service", "floor"):
        r = out[name]
        print(
            f"{name:<8} p50 {r['p50_ms']:>8.1f} ms   p99 {r['p99_ms']:>8.1f} ms   "
            f"statuses {r['statuses']} cards {r['cards']}"
        )
    print(f"ratio    p50 {out['ratio_p50']:>8.2f}      p99 {out['ratio_p99']:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
