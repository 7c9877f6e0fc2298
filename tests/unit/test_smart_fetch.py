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
def test_a_record_longer_than_the_page_limit_is_cut_and_the_page_says_so(monkeypatch):
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
    [problem] = [p for p in record.problems if "Observation" in str(p)]
    assert "only the first 3 pages" in str(problem)
    searches = [c.request.url for c in responses.calls if "/Observation" in c.request.url]
    assert "_count=1000" in searches[0] and len(searches) == 3
