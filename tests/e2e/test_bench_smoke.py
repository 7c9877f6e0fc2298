"""The benchmark runs end to end (`bench/hooks_bench.py --quick`): it starts sekmet, the SMART
gateway and the server, prints a row for every scenario and size, and every request it sent
was answered 200 with the expected content. No timing is asserted: that is the benchmark's job,
not a test's."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from demo.runner import sekmet_executable
from tests.ci import require_or_skip

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = (
    "patient-view",
    "order-sign",
    "observation-create",
    "fhir-fetch",
    "app-page",
    "app-api",
)
HOOKS = ("patient-view", "order-sign", "observation-create", "fhir-fetch")


def test_quick_bench_measures_every_scenario_without_a_failed_request(tmp_path):
    if sekmet_executable() is None:
        require_or_skip("the sekmet FHIR server is not installed (the demo extra)")
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "hooks_bench.py"), "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    figures = json.loads(out.read_text("utf-8"))
    sizes = figures["settings"]["sizes"]
    assert len(sizes) >= 2

    # every scenario row is printed, for every size
    printed = {
        (m.group(1), int(m.group(2).replace(",", "")))
        for m in re.finditer(r"^([a-z-]+)\s+([\d,]+)\s+\d+\s", proc.stdout, re.M)
    }
    assert printed == {(s, n) for s in SCENARIOS for n in sizes}, proc.stdout
    assert figures["notes"] == [], figures["notes"]
    assert re.search(r"^(PASS|MISS|SKIP)  ", proc.stdout, re.M)

    # every request answered 200 with the expected content
    assert figures["failures"] == 0, figures["failure_samples"]
    assert "every one answered 200 with the expected content" in proc.stdout
    assert len(figures["rows"]) == len(SCENARIOS) * len(sizes)
    for row in figures["rows"]:
        for conc in ("c1", "c8"):
            service, floor = row[conc]["service"], row[conc]["floor"]
            what = f"{row['scenario']} {row['observations']} {conc}"
            assert service["n"] == floor["n"] == row["requests"] > 0, what
            assert service["statuses"] == {"200": service["n"]}, what
            assert floor["statuses"] == {"200": floor["n"]}, what
            assert floor["cards"] == {"0": floor["n"]}, what
            assert service["failed"] == floor["failed"] == 0, what
            if row["scenario"] in HOOKS:
                assert sum(service["cards"].values()) == service["n"], what
                assert all(int(k) >= 1 for k in service["cards"]), what
            assert row[conc]["peak_mb_per_worker"] > 0, what
