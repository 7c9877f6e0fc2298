"""Findings of the attack review that need the real server (`immunotox serve`: gunicorn, one
worker of 4 threads) and a real FHIR server (`fhir_server.FaultServer`):

- 8: clients declaring 30 MB bodies and sending a byte a second do not hold the worker's body
  budget; their uploads are cut at the read deadline (408);
- 10: a 30 MB body of empty entries and a feedback POST of 250,000 items are 413 without the
  worker's memory following them (its peak resident size, VmHWM, is the figure);
- 11: hooks fetching from a slow FHIR server do not take every thread: hooks that need no fetch
  still answer promptly;
- 13: an oversized chunked body is 413; gunicorn's control socket is off (no shared
  `~/.gunicorn/gunicorn.ctl` between instances).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import select
import socket
import threading
import time
from pathlib import Path

import pytest

from demo.runner import app_server_process, free_port
from tests.robustness import helpers
from tests.robustness.conftest import remember_patient_id, remember_token
from tests.robustness.fhir_server import FaultServer

BODY_READ_TIMEOUT_S = 2.0
DEADLINE_S = 1.0
PID = "attack-patient-3"
_RUN: dict = {}  # the running server's gunicorn master pid and store file


@pytest.fixture(scope="module")
def fhir():
    with FaultServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def server(tmp_path_factory, fhir):
    tmp = tmp_path_factory.mktemp("attack")
    home = tmp / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "XDG_RUNTIME_DIR": "",
        "IMMUNOTOX_CDS_AUTH": "off",
        "IMMUNOTOX_DATABASE_URL": f"sqlite:///{tmp / 'store.sqlite3'}",
        "IMMUNOTOX_INSTANCE_DIR": str(tmp),
        "IMMUNOTOX_FHIR_ALLOWLIST": f"{fhir.base}/slow,{fhir.base}/ok",
        "IMMUNOTOX_HOOK_DEADLINE_S": str(DEADLINE_S),
        "IMMUNOTOX_FHIR_TIMEOUT_S": "0.8",
        "IMMUNOTOX_BODY_READ_TIMEOUT_S": str(BODY_READ_TIMEOUT_S),
        "IMMUNOTOX_MAX_CONTENT_LENGTH": str(32 * 1024 * 1024),
    }
    with app_server_process("127.0.0.1", free_port(), 1, env, tmp) as (base, proc):
        _RUN.update(master_pid=proc.pid, store=tmp / "store.sqlite3")
        yield base, home


def _hook(prefetch: dict | None, fhir_server: str | None = None) -> bytes:
    token = None
    if fhir_server:
        token = f"tok-{time.monotonic_ns()}"
        remember_token(token)
    remember_patient_id(PID)
    body = helpers.hook_body(
        "patient-view", PID, prefetch=prefetch, fhir_server=fhir_server, token=token
    )
    return json.dumps(body).encode()


def _post(base: str, path: str, body: bytes, timeout: float = 30.0) -> tuple[int, float]:
    host, port = base.split("//")[1].split(":")
    t0 = time.monotonic()
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        status = conn.getresponse().status
    finally:
        conn.close()
    return status, time.monotonic() - t0


def _trickler(base: str, results: list, stop: threading.Event) -> None:
    """Declare 30 MB and send one byte every 0.5 s until the server answers or gives up."""
    host, port = base.split("//")[1].split(":")
    s = socket.create_connection((host, int(port)), timeout=30)
    t0 = time.monotonic()
    try:
        s.sendall(
            b"POST /cds-services/immunotox-patient-view HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 30000000\r\n\r\n{"
        )
        s.settimeout(0.5)
        while not stop.is_set():
            try:
                answer = s.recv(4096)
            except TimeoutError:
                try:
                    s.sendall(b" ")
                except OSError:
                    results.append(("reset", time.monotonic() - t0))
                    return
                continue
            results.append((answer.split(b"\r\n", 1)[0].decode(), time.monotonic() - t0))
            return
    finally:
        s.close()


def test_slow_uploads_do_not_hold_the_body_budget_and_are_cut_at_the_deadline(server):
    base, _home = server
    stop = threading.Event()
    results: list = []
    tricklers = [threading.Thread(target=_trickler, args=(base, results, stop)) for _ in range(2)]
    for t in tricklers:
        t.start()
    time.sleep(0.5)  # both uploads under way
    statuses, waits = [], []
    for _ in range(3):
        status, elapsed = _post(base, "/cds-services/immunotox-patient-view", _hook({}))
        statuses.append(status)
        waits.append(elapsed)
    for t in tricklers:
        t.join(BODY_READ_TIMEOUT_S + 10)
    stop.set()
    helpers.figure(
        "slow_uploads",
        {
            "declared_bytes": 30_000_000,
            "other_hook_worst_s": round(max(waits), 2),
            "uploads_cut_after_s": [round(r[1], 1) for r in results],
        },
    )
    # was: every hook waited >= 10 s for the budget the 30 MB declarations reserved
    assert all(s == 412 for s in statuses), statuses  # no FHIR server named: 412, promptly
    assert max(waits) < 3.0, waits
    assert len(results) == 2
    for answer, after in results:
        assert "408" in answer, results
        assert after < BODY_READ_TIMEOUT_S + 3.0, results


def test_an_oversized_chunked_body_is_413(server):
    """Was 400. 40 MiB sent chunked (no Content-Length) against the 32 MiB limit."""
    base, _home = server
    host, port = base.split("//")[1].split(":")
    s = socket.create_connection((host, int(port)), timeout=30)
    answer = b""
    try:
        s.sendall(
            b"POST /cds-services/immunotox-patient-view HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"100000\r\n" + b" " * 0x100000 + b"\r\n"  # 1 MiB
        for _ in range(40):
            try:
                s.sendall(chunk)
            except OSError:
                break
            readable, _, _ = select.select([s], [], [], 0)
            if readable:
                break
        s.settimeout(10)
        with contextlib.suppress(OSError):
            answer = s.recv(4096)
    finally:
        s.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_no_gunicorn_control_socket_is_shared_between_instances(server):
    _base, home = server
    assert not list(home.rglob("*.ctl")), list(home.rglob("*"))


def test_a_slow_fhir_server_does_not_take_every_thread(server, fhir):
    """16 hooks fetching from a server that never answers in time, and at the same time hooks
    that need no fetch: those still answer promptly (was: up to 2.6 s)."""
    base, _home = server
    full = helpers.full_prefetch(PID) if hasattr(helpers, "full_prefetch") else None
    fetching = _hook({}, f"{fhir.base}/slow")
    quick = _hook(full or {"patient": {"resourceType": "Patient", "id": PID}})
    quick_times: list[float] = []
    fetch_statuses: list[int] = []

    def fetch_one() -> None:
        fetch_statuses.append(_post(base, "/cds-services/immunotox-patient-view", fetching)[0])

    threads = [threading.Thread(target=fetch_one) for _ in range(16)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    for _ in range(6):
        status, elapsed = _post(base, "/cds-services/immunotox-patient-view", quick)
        assert status == 200
        quick_times.append(elapsed)
        time.sleep(0.1)
    for t in threads:
        t.join(30)
    helpers.figure(
        "slow_fhir_server",
        {
            "fetching_hooks": 16,
            "quick_hook_worst_s": round(max(quick_times), 2),
            "fetching_statuses": sorted(set(fetch_statuses)),
        },
    )
    assert set(fetch_statuses) <= {200, 412}
    # before: 16 calls holding all 4 threads for the 1 s deadline, 4 s in a row
    assert max(quick_times) < 2.0, quick_times


def _worker_peak_mb(master: int) -> float:
    """The largest peak resident size (VmHWM) among the gunicorn master's workers, in MB."""
    peaks = []
    for task in Path(f"/proc/{master}/task").glob("*"):
        with contextlib.suppress(OSError):
            for pid in (task / "children").read_text().split():
                with contextlib.suppress(OSError):
                    status = Path(f"/proc/{pid}/status").read_text()
                    m = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
                    if m:
                        peaks.append(int(m.group(1)) / 1024)
    assert peaks, "no gunicorn worker found"
    return max(peaks)


def test_bodies_of_many_small_objects_are_refused_before_they_take_memory(server):
    """Finding 10. Was: a 30 MB body of empty entries took a worker from 79 to 921 MB, and one
    feedback POST stored 250,000 rows."""
    import sqlalchemy as sa

    base, _home = server
    before = _worker_peak_mb(_RUN["master_pid"])
    n = 10_000_000  # "{}," is 3 bytes: 30 MB
    body = b'{"hook":"patient-view","hookInstance":"h","context":{"patientId":"p"},' + (
        b'"prefetch":{"observations":{"resourceType":"Bundle","entry":['
        + b"{}," * (n - 1)
        + b"{}]}}}"
    )
    status, elapsed = _post(base, "/cds-services/immunotox-patient-view", body, timeout=60)
    after_entries = _worker_peak_mb(_RUN["master_pid"])
    item = {"card": "c", "outcome": "overridden", "outcomeTimestamp": "2024-01-01T00:00:00Z"}
    feedback = json.dumps({"feedback": [item] * 250_000}).encode()
    fb_status, _ = _post(base, "/cds-services/immunotox-patient-view/feedback", feedback, 60)
    after_feedback = _worker_peak_mb(_RUN["master_pid"])
    engine = sa.create_engine(f"sqlite:///{_RUN['store']}")
    try:
        with engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT count(*) FROM cds_feedback")).scalar()
    finally:
        engine.dispose()
    helpers.figure(
        "memory_bounds",
        {
            "empty_entries_body_mb": round(len(body) / 1e6, 1),
            "empty_entries_status": status,
            "empty_entries_answered_after_s": round(elapsed, 2),
            "feedback_items": 250_000,
            "feedback_body_mb": round(len(feedback) / 1e6, 1),
            "feedback_status": fb_status,
            "feedback_rows_stored": stored,
            "worker_peak_mb_before": round(before),
            "worker_peak_mb_after_entries": round(after_entries),
            "worker_peak_mb_after_feedback": round(after_feedback),
        },
    )
    assert status == 413 and fb_status == 413
    assert stored == 0
    # the body is buffered (30 MB, and twice that while it is joined); before: 921 MB
    assert after_feedback < before + 250, (before, after_entries, after_feedback)
