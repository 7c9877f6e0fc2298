"""Every example resource of the FHIR R4 specification (npm package hl7.fhir.r4.examples@4.0.1,
≈5,300 files, Bundles included) goes through the domain core and through a CDS Hooks service
without an exception and without a 500.

The corpus is downloaded by scripts/fetch-fhir-examples.sh into test-output/fhir-examples/
(gitignored); the test skips only when it is missing and npm is not installed (a failure
under CI=true: `tests.ci`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.assess import assess
from services.fhir_adapter import to_patient_data
from tests.ci import require_or_skip
from tests.robustness import helpers
from tests.robustness.conftest import remember_patient_id

CORPUS = helpers.OUT_DIR / "fhir-examples"
SCRIPT = helpers.ROOT / "scripts" / "fetch-fhir-examples.sh"
AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PID = "rob-corpus-patient"
BATCH = 50  # resources per hook call
BATCH_BYTES = 4 * 1024 * 1024  # and at most this much JSON per call (one big file goes alone)
PATIENT = {
    "resourceType": "Patient",
    "id": PID,
    "birthDate": "1961-05-04",
    "name": [{"family": "Corpus"}],
}


@pytest.fixture(scope="session")
def corpus_files() -> list[Path]:
    if not (CORPUS / ".complete").exists():
        if shutil.which("npm") is None:
            require_or_skip(
                "FHIR R4 examples are not in test-output/fhir-examples and npm is not installed "
                "to fetch them (bash scripts/fetch-fhir-examples.sh)"
            )
        subprocess.run(["bash", str(SCRIPT), str(CORPUS)], check=True, timeout=600)
    files = sorted(p for p in (CORPUS / "package").glob("*.json") if p.name != "package.json")
    assert len(files) > 5000, f"only {len(files)} example files in {CORPUS}"
    return files


def _load(path: Path) -> tuple[Any, int]:
    raw = path.read_bytes()
    return json.loads(raw), len(raw)


def test_every_example_resource_goes_through_the_adapter_and_the_assessment(corpus_files):
    t0 = time.monotonic()
    types: set[str] = set()
    unreadable = 0
    failures: list[str] = []
    for path in corpus_files:
        doc, _size = _load(path)
        types.add(doc.get("resourceType", "?"))
        try:
            data = to_patient_data([doc])
            unreadable += len(data.unreadable)
            a = assess([PATIENT, doc], at=AT)
            assert a.disclaimer
        except Exception as e:
            failures.append(f"{path.name}: {type(e).__name__}: {str(e)[:200]}")
    elapsed = time.monotonic() - t0
    helpers.count("fhir_examples_assessed", len(corpus_files))
    helpers.figure(
        "fhir_examples_core",
        {
            "files": len(corpus_files),
            "resource_types": len(types),
            "unreadable_listed": unreadable,
            "exceptions": len(failures),
            "seconds": round(elapsed, 1),
        },
    )
    print(
        f"\nFHIR examples through the core: {len(corpus_files)} files, {len(types)} resource "
        f"types, {len(failures)} exceptions, {elapsed:.1f} s"
    )
    assert not failures, "\n".join(failures[:20])


def _batches(files: list[Path]):
    batch: list[Any] = []
    size = 0
    for path in files:
        doc, n = _load(path)
        if batch and (len(batch) >= BATCH or size + n > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(doc)
        size += n
    if batch:
        yield batch


def _prefetch(batch: list[Any]) -> dict[str, Any]:
    """The batch spread over every search key of the service, the Patient under `patient`."""
    groups: dict[str, list[Any]] = {k: [] for k in helpers.SEARCH_KEYS}
    for i, doc in enumerate(batch):
        groups[helpers.SEARCH_KEYS[i % len(helpers.SEARCH_KEYS)]].append(doc)
    return {"patient": PATIENT, **{k: helpers.searchset(v) for k, v in groups.items()}}


def test_every_example_resource_through_the_patient_view_service_never_500(
    app, client, corpus_files, caplog
):
    remember_patient_id(PID)
    # The 35 MB Bundle-resources.json must reach the service, not stop at the size limit.
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024 * 1024
    t0 = time.monotonic()
    calls = resources = 0
    statuses: dict[int, int] = {}
    for batch in _batches(corpus_files):
        body = helpers.hook_body("patient-view", PID, prefetch=_prefetch(batch))
        r = client.post(
            "/cds-services/immunotox-patient-view",
            data=json.dumps(body),
            content_type="application/json",
        )
        status = helpers.check_answer(r, f"batch starting {batch[0].get('id')!r}")
        statuses[status] = statuses.get(status, 0) + 1
        calls += 1
        resources += len(batch)
        assert status == 200, r.get_json()
        assert r.get_json()["cards"] is not None
    elapsed = time.monotonic() - t0
    error_cards = [
        rec for rec in caplog.records if rec.levelname == "ERROR" and "failed ref=" in rec.msg
    ]
    helpers.count("fhir_examples_posted", resources)
    helpers.count("fhir_examples_hook_calls", calls)
    helpers.figure(
        "fhir_examples_http",
        {
            "files": resources,
            "hook_calls": calls,
            "statuses": {str(k): v for k, v in statuses.items()},
            "error_cards": len(error_cards),
            "seconds": round(elapsed, 1),
        },
    )
    print(
        f"\nFHIR examples through POST /cds-services/immunotox-patient-view: {resources} files in "
        f"{calls} calls, statuses {statuses}, {len(error_cards)} error cards, {elapsed:.1f} s"
    )
    assert resources == len(corpus_files)
    # An exception inside the assessment is answered with an error card (not a 500); for the
    # specification's own examples there must be none.
    assert not error_cards, error_cards[0].getMessage()[:2000]
