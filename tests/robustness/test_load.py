"""Load: `immunotox serve` (gunicorn, 2 workers) under 32 concurrent clients sending
patient-view and order-sign calls with full prefetch and feedback POSTs (bench/load.py, run as a
separate process). Zero errors and zero lost feedback records.

The short run (8 s) is part of the suite; the 60 s run is marked slow and runs only with
IMMUNOTOX_LONG_LOAD=1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.robustness import helpers

LOAD = helpers.ROOT / "bench" / "load.py"


def _run(tmp_path, duration: float, concurrency: int) -> dict:
    out = tmp_path / "load.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(LOAD),
            "--duration",
            str(duration),
            "--concurrency",
            str(concurrency),
            "--json",
            str(out),
        ],
        cwd=helpers.ROOT,
        capture_output=True,
        text=True,
        timeout=duration + 180,
    )
    assert out.exists(), f"the load run failed (status {proc.returncode}):\n{proc.stderr[-4000:]}"
    figures = json.loads(out.read_text("utf-8"))
    if proc.returncode:
        figures["server_log_tail"] = proc.stderr[:6000]  # tracebacks first (bench/load.py)
    print(f"\nload {duration:.0f} s x {concurrency}: {json.dumps(figures)}")
    return figures | {"exit_status": proc.returncode}


def _check(figures: dict) -> None:
    assert figures["errors"] == 0, (figures["error_samples"], figures.get("server_log_tail"))
    assert figures["hung_clients"] == 0
    assert figures["ok"] > 0 and figures["cards_received"] > 0
    assert figures["feedback_sent"] > 0
    assert figures["feedback_acknowledged"] == figures["feedback_sent"]
    assert figures["feedback_lost"] == 0
    assert figures["feedback_stored"] == figures["feedback_acknowledged"]
    assert figures["exit_status"] == 0


def _record(section: str, figures: dict) -> None:
    keep = {k: v for k, v in figures.items() if k not in ("error_samples",)}
    helpers.figure(section, keep)
    helpers.count(f"{section}_requests", figures["requests"])


def test_short_load_run_loses_nothing(tmp_path):
    figures = _run(tmp_path, duration=8, concurrency=32)
    _record("load_short", figures)
    _check(figures)


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("IMMUNOTOX_LONG_LOAD") != "1", reason="the 60 s load run: IMMUNOTOX_LONG_LOAD=1"
)
def test_long_load_run_loses_nothing(tmp_path):
    figures = _run(tmp_path, duration=60, concurrency=32)
    _record("load_long", figures)
    _check(figures)
