"""Bounds on one hook request (attack review findings 8, 10 and 11), through the Flask test
client: the body's read deadline, JSON objects, prefetch entries and feedback items, fetched bytes
counted against the worker's budget, and the hook deadline counted from arrival."""

from __future__ import annotations

import io
import json
import re
import time

import pytest
import responses

from cds_hooks import blueprint as bp_mod
from immunotox.admission import ByteBudget
from immunotox.app import create_app
from tests.unit.cds_hooks.fixtures import assessment, hook_body, patient

FHIR = "https://fhir.example.org/r4"


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setattr("cds_hooks.pipeline.run_assessment", lambda r, at=None: assessment())
    return create_app(
        {
            "INSTANCE_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}",
            "CDS_AUTH": "off",
            "SECRET_KEY": "t",
            "TESTING": True,
            "FHIR_ALLOWLIST": FHIR,
            "BODY_READ_TIMEOUT_S": 0.5,
            "MAX_JSON_CONTAINERS": 10_000,
            "MAX_PREFETCH_ENTRIES": 100,
            "MAX_FEEDBACK_ITEMS": 10,
        }
    )


class _Trickle(io.RawIOBase):
    """A request body arriving one byte every 50 ms."""

    def __init__(self, data: bytes):
        self.data = data

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if not self.data:
            return 0
        time.sleep(0.05)
        b[0] = self.data[0]
        self.data = self.data[1:]
        return 1


def _post(client, path, body: bytes, **kw):
    return client.post(path, data=body, content_type="application/json", **kw)


def test_a_body_slower_than_the_read_deadline_is_408(app):
    body = json.dumps(hook_body()).encode()
    t0 = time.monotonic()
    r = app.test_client().post(
        "/cds-services/immunotox-patient-view",
        content_type="application/json",
        environ_overrides={"wsgi.input": _Trickle(body), "CONTENT_LENGTH": str(len(body))},
    )
    assert r.status_code == 408 and "did not arrive within 0.5 s" in r.get_json()["message"]
    assert time.monotonic() - t0 < 2.0


def test_a_body_of_more_json_objects_than_allowed_is_413_before_parsing(app):
    body = b'{"prefetch": {"x": {"resourceType": "Bundle", "entry": [' + b"{}," * 20_000 + b"{}]}}}"
    r = _post(app.test_client(), "/cds-services/immunotox-patient-view", body)
    assert r.status_code == 413 and "10,000 JSON objects" in r.get_json()["message"]
    ok = b'{"context": {"x": [' + b"{}," * 9_000 + b"{}]}}"  # parsed: then refused as no hook
    r = _post(app.test_client(), "/cds-services/immunotox-patient-view", ok)
    assert r.status_code == 400 and "hook" in r.get_json()["message"]


def test_prefetch_entries_are_bounded(app):
    def body(n: int) -> bytes:
        entries = [{"resource": {"resourceType": "Basic", "id": f"b{i}"}} for i in range(n)]
        return json.dumps(
            hook_body(
                prefetch={
                    "patient": patient(),
                    "observations": {"resourceType": "Bundle", "entry": entries},
                }
            )
        ).encode()

    client = app.test_client()
    assert _post(client, "/cds-services/immunotox-patient-view", body(100)).status_code == 200
    r = _post(client, "/cds-services/immunotox-patient-view", body(101))
    assert r.status_code == 413 and "100 Bundle entries" in r.get_json()["message"]


def test_feedback_items_are_bounded(app):
    def body(n: int) -> bytes:
        item = {"card": "c", "outcome": "overridden", "outcomeTimestamp": "2024-01-01T00:00:00Z"}
        return json.dumps({"feedback": [item] * n}).encode()

    client = app.test_client()
    path = "/cds-services/immunotox-patient-view/feedback"
    ok = _post(client, path, body(10))
    assert ok.status_code == 200 and ok.get_json() == {"stored": 10}
    r = _post(client, path, body(11))
    assert r.status_code == 413 and "10 feedback items" in r.get_json()["message"]


def test_the_hook_deadline_runs_from_arrival_as_the_proxy_stamped_it(app):
    """A call that waited in a queue before a thread took it has only the rest of its
    deadline for fetching: with X-Request-Start 1.9 s ago and a 2 s deadline, the fetch is cut
    almost at once."""
    app.config["BODY_READ_TIMEOUT_S"] = 10.0
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:

        def slow(_req):
            time.sleep(0.5)
            return (200, {}, json.dumps({"resourceType": "Patient", "id": "p"}))

        rsps.add_callback(responses.GET, f"{FHIR}/Patient/pat-1", callback=slow)
        body = json.dumps(hook_body(prefetch={}, fhir_server=FHIR)).encode()
        stamp = f"t={time.time() - 1.9:.3f}"
        t0 = time.monotonic()
        r = _post(
            app.test_client(),
            "/cds-services/immunotox-patient-view",
            body,
            headers={"X-Request-Start": stamp},
        )
        elapsed = time.monotonic() - t0
    assert r.status_code == 412 and "timed out" in r.get_json()["message"]
    assert elapsed < 0.45


def test_a_request_start_in_the_future_does_not_lengthen_the_deadline(app):
    with app.test_request_context(headers={"X-Request-Start": f"t={time.time() + 100:.3f}"}):
        assert abs(bp_mod.arrival() - time.monotonic()) < 0.05
    with app.test_request_context(headers={"X-Request-Start": "t=0"}):
        assert time.monotonic() - bp_mod.arrival() == pytest.approx(60.0, abs=0.1)


def test_fetched_bytes_are_counted_against_the_worker_budget_while_the_call_runs(app):
    budget: ByteBudget = app.extensions["immunotox.budget"]
    seen: list[int] = []
    page = {"resourceType": "Bundle", "type": "searchset", "entry": []}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:

        def patient(_req):
            seen.append(budget.in_use)
            return (200, {}, json.dumps({"resourceType": "Patient", "id": "pat-1"}))

        rsps.add_callback(responses.GET, f"{FHIR}/Patient/pat-1", callback=patient)
        rsps.get(re.compile(rf"{re.escape(FHIR)}/(?!Patient/).*"), json=page)
        r = _post(
            app.test_client(),
            "/cds-services/immunotox-patient-view",
            json.dumps(hook_body(prefetch={}, fhir_server=FHIR)).encode(),
        )
    assert r.status_code == 200
    # while it fetched, the call held half the budget for its answers
    assert seen and seen[0] >= budget.capacity // 2
    assert budget.in_use == 0
