"""Installable: a wheel built from this checkout, installed with `pip install
'immunotox[demo]'` into a fresh virtual environment, runs from anywhere: `--version`,
`assess`, `rules`, `db upgrade`, and `demo`, which says clearly what it needs (the demo
patients and demo EHR live in the source checkout, not in the package)."""

from __future__ import annotations

import os
import subprocess
import sys
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

    from immunotox.demo import free_port

    demo = _run(
        [exe, "demo", "--port", str(free_port()), "--fhir-port", str(free_port())],
        elsewhere,
        timeout=120,
        env={**env, **{k: v for k, v in os.environ.items() if k == "TMPDIR"}},
    )
    assert demo.returncode == 1
    assert "needs the project's source checkout" in demo.stderr, demo.stderr
    assert "Traceback" not in demo.stderr
