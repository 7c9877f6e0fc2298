"""The one FHIR HTTP client (`immunotox.fhir_client`), with the FHIR server mocked by `responses`:
next links checked after normalising (each rule by name), compressed answers, size limits, the
token refresh, per-server slots."""

from __future__ import annotations

import gzip
import json
import logging
import threading
import time
import zlib

import pytest
import responses

from immunotox import fhir_client as fc
from smart_app import fetch

BASE = "https://fhir.example.org/r4"


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        (f"{BASE}/Observation?page=2", None),
        ("https://FHIR.example.org:443/r4/Observation", None),  # case and default port
        (f"{BASE}", None),
        (f"{BASE}/Observation/%41bc", None),  # an escaped letter is harmless
        ("http://fhir.example.org/r4/Observation", fc.RULE_SCHEME_HOST_PORT),
        ("https://fhir.example.org:8443/r4/Observation", fc.RULE_SCHEME_HOST_PORT),
        ("https://other.example.org/r4/Observation", fc.RULE_SCHEME_HOST_PORT),
        ("https://fhir.example.org.evil/r4/Observation", fc.RULE_SCHEME_HOST_PORT),
        ("/r4/Observation", fc.RULE_SCHEME_HOST_PORT),  # relative: no origin
        ("https://u:p@fhir.example.org/r4/Observation", fc.RULE_USERINFO),
        ("https://fhir.example.org@evil.example/r4/x", fc.RULE_USERINFO),
        (f"{BASE}/../admin/x", fc.RULE_DOT_SEGMENT),
        (f"{BASE}/%2e%2e/admin/x", fc.RULE_DOT_SEGMENT),
        (f"{BASE}/%2E%2E/admin/x", fc.RULE_DOT_SEGMENT),
        (f"{BASE}/./Observation", fc.RULE_DOT_SEGMENT),
        (f"{BASE}/Observation/..", fc.RULE_DOT_SEGMENT),
        (f"{BASE}/..%2fadmin", fc.RULE_ENCODED_SEPARATOR),
        (f"{BASE}/x%5c..%5cadmin", fc.RULE_ENCODED_SEPARATOR),
        ("https://fhir.example.org/r4x/Observation", fc.RULE_PATH_PREFIX),
        ("https://fhir.example.org/admin/r4", fc.RULE_PATH_PREFIX),
        ("https://fhir.example.org/", fc.RULE_PATH_PREFIX),
    ],
)
def test_a_next_link_is_under_the_base_only_after_normalising(url, rule):
    assert fc.outside_base(url, BASE) == rule


def _bundle(n: int, next_url: str | None = None) -> dict:
    b = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {"resource": {"resourceType": "Observation", "id": f"o{n}-{i}"}} for i in range(2)
        ],
    }
    if next_url:
        b["link"] = [{"relation": "next", "url": next_url}]
    return b


def _client(**kw) -> fc.FhirClient:
    return fc.FhirClient(BASE, deadline=time.monotonic() + 5, timeout_s=2, token="tok", **kw)


@responses.activate
@pytest.mark.parametrize("encoding", ["gzip", "deflate", "deflate-raw"])
def test_compressed_answers_are_decoded(encoding):
    raw = json.dumps(_bundle(0)).encode()
    if encoding == "gzip":
        body = gzip.compress(raw)
    elif encoding == "deflate":
        body = zlib.compress(raw)
    else:
        c = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        body = c.compress(raw) + c.flush()
    header = "deflate" if encoding == "deflate-raw" else encoding
    responses.get(
        f"{BASE}/Observation",
        body=body,
        headers={"Content-Encoding": header},
        content_type="application/fhir+json",
    )
    with _client() as c:
        paged = c.search(c.url("Observation"), max_pages=5)
    assert [r["id"] for r in paged.resources()] == ["o0-0", "o0-1"]
    assert "gzip" in responses.calls[0].request.headers["Accept-Encoding"]


@responses.activate
def test_a_compression_bomb_stops_at_the_size_limit():
    body = gzip.compress(b" " * (8 * 1024 * 1024))  # 8 MiB of blanks, 8 KB on the wire
    responses.get(f"{BASE}/Observation", body=body, headers={"Content-Encoding": "gzip"})
    with _client(max_page_bytes=1024 * 1024) as c, pytest.raises(fc.FhirError) as e:
        c.get(c.url("Observation"))
    assert e.value.code == fc.TOO_LARGE


@responses.activate
def test_an_answer_larger_than_the_page_limit_is_refused():
    responses.get(f"{BASE}/Patient/p", body=b"{" + b" " * 5000 + b"}")
    with _client(max_page_bytes=4096) as c, pytest.raises(fc.FhirError) as e:
        c.get(c.url("Patient/p"))
    assert e.value.code == fc.TOO_LARGE


@responses.activate
def test_fetched_bytes_count_against_the_call_and_its_cap():
    responses.get(f"{BASE}/Observation", json=_bundle(0))
    charged: list[int] = []
    account = fc.ByteAccount(cap=None, charge=charged.append)
    with _client(account=account) as c:
        c.get(c.url("Observation"))
    assert account.used == sum(charged) == len(json.dumps(_bundle(0)))
    small = fc.ByteAccount(cap=10)
    with _client(account=small) as c, pytest.raises(fc.FhirError) as e:
        c.get(c.url("Observation"))
    assert e.value.code == fc.TOO_LARGE


@responses.activate
def test_a_401_asks_once_for_a_fresh_token():
    responses.get(f"{BASE}/Patient/p", status=401)
    responses.get(f"{BASE}/Patient/p", json={"resourceType": "Patient", "id": "p"})
    asked: list[str | None] = []

    def token(refused: str | None) -> str:
        asked.append(refused)
        return "old" if refused is None else "new"

    with fc.FhirClient(BASE, deadline=time.monotonic() + 5, timeout_s=2, token=token) as c:
        assert c.get(c.url("Patient/p"))["id"] == "p"
    assert asked == [None, "old"]
    assert [call.request.headers["Authorization"] for call in responses.calls] == [
        "Bearer old",
        "Bearer new",
    ]


@responses.activate
def test_a_next_link_outside_the_base_ends_paging_with_its_rule_logged(caplog):
    responses.get(f"{BASE}/Observation", json=_bundle(0, f"{BASE}/%2e%2e/admin/x"))
    with caplog.at_level(logging.WARNING, logger="immunotox.fhir"), _client() as c:
        paged = c.search(c.url("Observation"), max_pages=5)
    assert paged.stop == "next_outside" and paged.rule == fc.RULE_DOT_SEGMENT
    assert f"rule={fc.RULE_DOT_SEGMENT}" in caplog.text
    assert len(responses.calls) == 1


@responses.activate
@pytest.mark.parametrize(
    ("next_url", "rule"),
    [
        ("https://attacker.example/r4/Observation?page=1", fc.RULE_SCHEME_HOST_PORT),
        (f"{BASE}/../admin/x", fc.RULE_DOT_SEGMENT),
        ("https://fhir.example.org/r4-admin/Observation", fc.RULE_PATH_PREFIX),
        ("https://u:p@fhir.example.org/r4/Observation", fc.RULE_USERINFO),
    ],
)
def test_the_app_sends_no_token_outside_its_base_and_says_which_rule(caplog, next_url, rule):
    responses.get(f"{BASE}/Patient/p1", json={"resourceType": "Patient", "id": "p1"})
    responses.get(f"{BASE}/Observation", json=_bundle(0, next_url))
    with caplog.at_level(logging.WARNING, logger="immunotox.fhir"):
        record = fetch.fetch_record(BASE, "p1", lambda _r: "tok", 2.0, ["Observation"])
    [problem] = [p for p in record.problems if p["ref"] == "Observation"]
    assert "another server" in problem["reason"]
    assert f"rule={rule}" in caplog.text
    assert len(responses.calls) == 2  # the Patient and the first page: nothing elsewhere


def test_server_slots_bound_the_requests_in_flight_to_one_server():
    slots = fc.ServerSlots(2)
    a = slots.acquire(f"{BASE}/a", 0.1)
    b = slots.acquire("https://FHIR.example.org:443/other", 0.1)  # the same server
    t0 = time.monotonic()
    with pytest.raises(fc.FhirError) as e:
        slots.acquire(f"{BASE}/c", 0.2)
    assert e.value.code == fc.BUSY and time.monotonic() - t0 < 1.0
    slots.acquire("https://other.example/r4", 0.1).release()  # another server is not held up
    threading.Timer(0.1, a.release).start()
    slots.acquire(f"{BASE}/d", 2.0).release()  # a freed slot is taken
    b.release()
