"""In-process timing of the observation-create comparison (`services.changes.compare`) on the
bench patient, against one adapter pass over the same record: the ratio holds on a loaded
machine where absolute times do not.

    .venv/bin/python -m bench.observation_timing            # 1,000 Observations, median of 21
    .venv/bin/python -m bench.observation_timing 10000 5
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime

from bench.bench_patient import build_patient, oxygen_flow
from services import changes, fhir_adapter


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else 1000
    reps = int(argv[1]) if len(argv) > 1 else 21
    now = datetime.now(UTC).replace(microsecond=0)
    p = build_patient(n, now=now)
    record = fhir_adapter.flatten([p.patient, *p.observations, *p.administrations])
    new = [oxygen_flow(p.pid, 10, now)]
    compare: list[float] = []
    adapter: list[float] = []
    for _ in range(reps):
        t0 = time.perf_counter()
        delta = changes.compare(record, new, now)
        compare.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        fhir_adapter.to_patient_data(record)
        adapter.append(time.perf_counter() - t0)
    c, a = statistics.median(compare) * 1000, statistics.median(adapter) * 1000
    what = ", ".join(x.label for x in delta.crossings) or "no change"
    print(
        f"{n:,} Observations, median of {reps}: comparison {c:.1f} ms, one adapter pass "
        f"{a:.1f} ms, ratio {c / a:.2f} ({what})"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
