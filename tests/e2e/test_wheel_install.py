"""Installable: a wheel built from this checkout, installed with `pip install
'immunotox[demo]'` into a fresh virtual environment, runs from anywhere: `--version`,
`assess`, `rules`, `db upgrade`, and `demo` (the demo patients, EHR and runner ship in the
wheel), which starts, prints its URLs and stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _run(args, cwd, timeout=600, env=None):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def _warnings(text: str) -> list[str]:
    """pip's and setuptools' warnings, less this machine's notes on absent local indexes."""
    return [
        line
        for line in text.splitlines()
        if "warning" in line.lower() and "Location 'file:" not in line
    ]


def test_the_wheel_installs_into_a_fresh_venv_and_runs(tmp_path):
    dist = tmp_path / "dist"
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dist), str(ROOT)], tmp_path
    )
    assert built.returncode == 0, built.stderr[-3000:]
    [wheel] = list(dist.glob("immunotox-*.whl"))
    assert _warnings(built.stdout + built.stderr) == []

    venv = tmp_path / "venv"
    assert _run([sys.executable, "-m", "venv", str(venv)], tmp_path).returncode == 0
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    installed = _run([*pip, "install", f"immunotox[demo] @ {wheel.as_uri()}"], tmp_path, 900)
    assert installed.returncode == 0, installed.stderr[-3000:]
    assert _warnings(installed.stdout + installed.stderr) == []

    exe = str(venv / "bin" / "immunotox")
    elsewhere = tmp_path / "elsewhere"  # not the checkout: nothing is imported from it
    elsewhere.mkdir()
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    version = _run([exe, "--version"], elsewhere, env=env)
    assert version.returncode == 0 and version.stdout.startswith("immunotox 0.")
    bundle = ROOT / "demo" / "patients" / "seed-pembrolizumab.json"
    assessed = _run(
        [exe, "assess", str(bundle), "--at", "2026-11-20T12:00:00Z"], elsewhere, env=env
    )
    assert assessed.returncode == 0, assessed.stderr
    assert "ASTCT 2019: grade 3" in assessed.stdout
    assert "sources" in _run([exe, "rules"], elsewhere, env=env).stdout.lower()
    db = _run(
        [exe, "db", "upgrade", "--database-url", f"sqlite:///{tmp_path / 's.sqlite3'}"],
        elsewhere,
        env=env,
    )
    assert db.returncode == 0, db.stderr  # the migrations ship in the wheel

    from demo.runner import free_port

    port = free_port()
    proc = subprocess.Popen(
        [exe, "demo", "--port", str(port), "--fhir-port", str(free_port()), "--workers", "1"],
        cwd=elsewhere,
        env={**env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    out = b""
    try:
        deadline = time.monotonic() + 240
        while b"Press Ctrl-C" not in out:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the demo did not start: {out.decode(errors='replace')[-3000:]}")
            out += proc.stdout.readline()
        text = out.decode()
        assert f"http://127.0.0.1:{port}/" in text and "/cds-services" in text
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, rest.decode(errors="replace")[-2000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
