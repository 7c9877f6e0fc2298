"""The app's record fetch (`smart_app.fetch`), with the FHIR server mocked by `responses`."""

from __future__ import annotations

import json
import re

import responses

from smart_app import fetch

BASE = "https://fhir.example.org/r4"


def _page(n: int, has_next: bool) -> dict:
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {
                "resource": {
                    "resourceType": "Observation",
                    "id": f"o{n}-{i}",
                    "status": "final",
                    "code": {"text": "x"},
                }
            }
            for i in range(3)
        ],
    }
    if has_next:
        bundle["link"] = [{"relation": "next", "url": f"{BASE}/Observation?page={n + 1}"}]
    return bundle


@responses.activate
def test_a_record_longer_than_the_page_limit_keeps_the_newest_and_the_page_says_so(monkeypatch):
    """Read unsorted first (sorting is slow on some servers and order does not matter when all
    is read); cut at the page limit, ask again sorted newest first and keep that."""
    monkeypatch.setattr(fetch, "MAX_PAGES", 3)
    responses.get(f"{BASE}/Patient/p1", json={"resourceType": "Patient", "id": "p1"})
    pages = iter(range(100))
    responses.add_callback(
        responses.GET,
        re.compile(rf"{re.escape(BASE)}/Observation.*"),
        callback=lambda _req: (200, {}, json.dumps(_page(next(pages), True))),
    )
    record = fetch.fetch_record(BASE, "p1", lambda _refused: "tok", 2.0, ["Observation"])
    observations = [r for r in record.resources if r["resourceType"] == "Observation"]
    assert len(observations) == 9  # three pages of three
    assert observations[0]["id"] == "o3-0"  # from the second, sorted, search
    [problem] = [p for p in record.problems if "Observation" in str(p)]
    assert "only the newest 3 pages" in str(problem)
    searches = [c.request.url for c in responses.calls if "/Observation" in c.request.url]
    assert len(searches) == 6
    assert "_count=1000" in searches[0] and "_sort" not in searches[0]
    assert "_sort=-date" in searches[3]


@responses.activate
def test_a_record_within_the_page_limit_is_read_once_unsorted():
    responses.get(f"{BASE}/Patient/p1", json={"resourceType": "Patient", "id": "p1"})
    responses.get(re.compile(rf"{re.escape(BASE)}/Observation.*"), json=_page(0, False))
    record = fetch.fetch_record(BASE, "p1", lambda _refused: "tok", 2.0, ["Observation"])
    assert len([r for r in record.resources if r["resourceType"] == "Observation"]) == 3
    assert not [p for p in record.problems if p["ref"] == "Observation"]
    [search] = [c.request.url for c in responses.calls if "/Observation" in c.request.url]
    assert "_sort" not in search
