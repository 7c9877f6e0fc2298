"""`immunotox demo`: its help names each port, it prints every URL it serves, and it keeps its
logs when something fails."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from demo import runner as demo
from immunotox.cli import build_parser


def test_demo_help_documents_each_port():
    text = build_parser()._subparsers._group_actions[0].choices["demo"].format_help()
    for option, what in (
        ("--port", "demo EHR"),
        ("--fhir-port", "FHIR server"),
        ("--app-port", "CDS Hooks service and SMART app"),
    ):
        assert option in text
        assert what in " ".join(text.split())


def test_the_demo_prints_every_url_it_serves(tmp_path):
    urls = {
        "ehr": "http://127.0.0.1:8080",
        "app": "http://127.0.0.1:8082",
        "fhir": "http://127.0.0.1:8080/fhir",
        "fhir_upstream": "http://127.0.0.1:8081/fhir",
        "patients": ["a", "b"],
        "workdir": tmp_path,
    }
    text = demo.describe(urls)
    for url in (
        "http://127.0.0.1:8080/",
        "http://127.0.0.1:8080/auth/authorize",
        "http://127.0.0.1:8080/auth/token",
        "http://127.0.0.1:8080/fhir",
        "http://127.0.0.1:8081/fhir",
        "http://127.0.0.1:8082/cds-services",
        "http://127.0.0.1:8082/smart/launch",
        "http://127.0.0.1:8082/smart/standalone",
        "http://127.0.0.1:8082/smart/callback",
        "http://127.0.0.1:8082/healthz",
        str(tmp_path),
    ):
        assert url in text
    assert "2 demo patients loaded" in text


def test_a_demo_that_fails_to_start_keeps_its_logs_and_says_where(monkeypatch):
    monkeypatch.setattr(demo, "sekmet_executable", lambda: "/bin/false")
    with (
        pytest.raises(RuntimeError) as e,
        demo.demo_stack("127.0.0.1", demo.free_port(), demo.free_port()),
    ):
        pass
    message = str(e.value)
    assert "sekmet exited" in message and "the logs are kept in " in message
    kept = Path(message.rsplit("the logs are kept in ", 1)[1])
    try:
        assert (kept / "fhir" / "sekmet.log").exists()
    finally:
        shutil.rmtree(kept, ignore_errors=True)


def test_the_demo_says_what_it_needs_outside_the_source_checkout(tmp_path):
    with (
        pytest.raises(RuntimeError, match="needs the project's source checkout"),
        demo.demo_stack(
            "127.0.0.1", demo.free_port(), demo.free_port(), patients_dir=tmp_path / "none"
        ),
    ):
        pass
