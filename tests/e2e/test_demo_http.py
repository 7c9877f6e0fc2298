"""The demo over plain HTTP (no browser needed): every demo patient is listed, the EHR launch
reaches the app, each hook returns cards, and `immunotox demo` stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from demo.runner import PATIENTS_DIR, free_port

pytestmark = pytest.mark.integration


def test_the_ehr_lists_every_demo_patient(demo):
    page = requests.get(demo["ehr"] + "/", timeout=30)
    assert page.status_code == 200
    ids = {p.stem for p in PATIENTS_DIR.glob("*.json")}
    assert ids and set(demo["patients"]) >= ids
    for pid in ids:
        assert f'data-patient="{pid}"' in page.text


def test_the_fhir_gateway_advertises_the_demo_authorization_server(demo):
    conf = requests.get(f"{demo['fhir']}/.well-known/smart-configuration", timeout=10).json()
    assert conf["authorization_endpoint"] == f"{demo['ehr']}/auth/authorize"
    assert "S256" in conf["code_challenge_methods_supported"]
    # and it refuses FHIR reads without a token
    assert requests.get(f"{demo['fhir']}/Patient", timeout=10).status_code == 401


def test_an_ehr_launch_reaches_the_assessment(demo):
    http = requests.Session()
    page = http.get(f"{demo['ehr']}/ehr/launch/seed-pembrolizumab", timeout=60)
    assert page.status_code == 200
    assert page.url.startswith(demo["app"] + "/app/")
    assert 'data-system="lee2014"' in page.text


@pytest.mark.parametrize(
    ("hook", "orders"),
    [
        ("patient-view", []),
        ("order-select", ["pembrolizumab-200"]),
        ("order-sign", ["tocilizumab-1000"]),
    ],
)
def test_each_hook_returns_cards_for_the_seed_patient(demo, hook, orders):
    resp = requests.post(
        f"{demo['ehr']}/ehr/patient/seed-pembrolizumab/hook/{hook}",
        data={"order": orders},
        timeout=60,
    )
    assert resp.status_code == 200
    cards_part = resp.text.split('id="cards"', 1)[1]
    assert 'class="card card-' in cards_part, cards_part[:2000]
    assert 'class="error"' not in cards_part


def test_ctrl_c_stops_the_whole_demo(tmp_path):
    port, fhir_port = free_port(), free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "immunotox.cli",
            "demo",
            "--port",
            str(port),
            "--fhir-port",
            str(fhir_port),
            "--workers",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 90
        out = b""
        while b"Press Ctrl-C" not in out:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the demo did not start: {out.decode(errors='replace')[-2000:]}")
            out += proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/".encode() in out
        children = _children(proc.pid)
        assert children, "the demo started no subprocess"
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, rest.decode(errors="replace")
        assert b"stopped" in rest
        # The demo stops its servers before it exits; allow their last moments (a bounded
        # wait, not a sleep racing them).
        until = time.monotonic() + 10
        while [c for c in children if Path(f"/proc/{c}").exists()] and time.monotonic() < until:
            time.sleep(0.1)
        assert [c for c in children if Path(f"/proc/{c}").exists()] == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def _children(pid: int) -> list[int]:
    """Direct and indirect children of `pid` (Linux /proc)."""
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            kids = (task / "children").read_text().split() if (task / "children").exists() else []
            for k in kids:
                found.append(int(k))
                frontier.append(int(k))
    return found


@pytest.mark.parametrize(
    ("pid", "hook", "orders", "expect"),
    [
        # Dose 2 of 4 given 5 h ago: a further dose is refused whatever its size.
        ("toci-course-pembrolizumab", "order-select", ["tocilizumab-560"], "the next not before"),
        ("toci-course-pembrolizumab", "order-sign", ["tocilizumab-1000"], "800 mg"),
        # One 20 mg tablet a day while tapering at 50 mg/day: read through RxNorm 312615.
        (
            "steroid-taper-nivolumab",
            "order-select",
            ["prednisone-20-tablet"],
            "faster than the taper",
        ),
        (
            "steroid-taper-nivolumab",
            "order-sign",
            ["prednisone-20-tablet"],
            "faster than the taper",
        ),
        # Pneumonitis grade 3 with the nivolumab order still active.
        ("steroid-taper-nivolumab", "patient-view", [], "nivolumab still ordered"),
    ],
)
def test_the_course_demos_show_the_new_cards(demo, pid, hook, orders, expect):
    resp = requests.post(
        f"{demo['ehr']}/ehr/patient/{pid}/hook/{hook}", data={"order": orders}, timeout=60
    )
    assert resp.status_code == 200
    cards_part = resp.text.split('id="cards"', 1)[1]
    assert expect in cards_part, cards_part[:3000]


def test_the_assessment_page_shows_what_has_been_given(demo):
    http = requests.Session()
    page = http.get(f"{demo['ehr']}/ehr/launch/toci-course-pembrolizumab", timeout=60)
    assert page.status_code == 200
    assert 'data-course="tocilizumab" data-given="2"' in page.text
    assert "Tocilizumab dose 2 of 4 given at" in page.text
