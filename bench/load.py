"""Load run: `immunotox serve` (gunicorn) under a mix of hook calls and feedback, then a check
that every feedback record the server acknowledged is in the store.

    .venv/bin/python bench/load.py                       # 60 s, 32 concurrent clients
    .venv/bin/python bench/load.py --duration 8 --concurrency 32 --json test-output/load.json

The server runs as a subprocess on a free loopback port with IMMUNOTOX_CDS_AUTH=off and a
throw-away SQLite store; this process drives it from threads (one HTTP session each). The mix:
patient-view and order-sign calls with the full prefetch of a demo patient, and feedback POSTs on
cards the server issued. Counted: requests, errors (any non-2xx answer or exception), p50/p99
latency, requests per second; afterwards the feedback table is read with SQLAlchemy. Exit status
1 when anything failed or a feedback record is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from demo.runner import app_server, free_port  # noqa: E402
from tests.robustness.helpers import demo_bundles, hook_body, prefetch_from_bundle  # noqa: E402

TIMEOUT = (5.0, 30.0)  # connect, read: every call has one
MIX = (("patient-view", 0.6), ("order-sign", 0.25), ("feedback", 0.15))
SERVICE = {"patient-view": "immunotox-patient-view", "order-sign": "immunotox-order-sign"}


class Run:
    def __init__(self, base: str, duration: float, seed: int) -> None:
        self.base = base
        self.end = time.monotonic() + duration
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = {k: [] for k, _w in MIX}
        self.errors: Counter[str] = Counter()
        self.error_samples: list[str] = []
        self.cards = 0
        self.card_uuids: list[str] = []
        self.feedback_acked: list[str] = []  # the unique comment of each acknowledged record
        self.feedback_sent = 0
        self.run_id = uuid.uuid4().hex[:12]
        self.patients = [prefetch_from_bundle(b) for b in demo_bundles().values()]
        self.seed = seed

    def _error(self, kind: str, what: str) -> None:
        with self.lock:
            self.errors[kind] += 1
            if len(self.error_samples) < 20:
                self.error_samples.append(f"{kind}: {what}")

    def _one(self, http: requests.Session, rng: random.Random, n: int) -> None:
        kind = rng.choices([k for k, _w in MIX], weights=[w for _k, w in MIX])[0]
        if kind == "feedback":
            with self.lock:
                card = rng.choice(self.card_uuids) if self.card_uuids else str(uuid.uuid4())
                self.feedback_sent += 1
            marker = f"load-{self.run_id}-{threading.get_ident()}-{n}"
            url = f"{self.base}/cds-services/immunotox-patient-view/feedback"
            body: dict[str, Any] = {
                "feedback": [
                    {
                        "card": card,
                        "outcome": "overridden",
                        "overrideReason": {"userComment": marker},
                        "outcomeTimestamp": datetime.now(UTC).isoformat(),
                    }
                ]
            }
        else:
            pid, pf = rng.choice(self.patients)
            url = f"{self.base}/cds-services/{SERVICE[kind]}"
            body = hook_body(kind, pid, prefetch=pf)
        data = json.dumps(body)
        t0 = time.perf_counter()
        try:
            r = http.post(
                url, data=data, headers={"Content-Type": "application/json"}, timeout=TIMEOUT
            )
        except requests.RequestException as e:
            self._error(kind, type(e).__name__)
            return
        ms = (time.perf_counter() - t0) * 1000
        if not 200 <= r.status_code < 300:
            self._error(kind, f"HTTP {r.status_code} {r.text[:200]}")
            return
        try:
            answer = r.json()
        except ValueError:
            self._error(kind, "not JSON")
            return
        with self.lock:
            self.latencies[kind].append(ms)
            if kind == "feedback":
                if answer.get("stored") == 1:
                    self.feedback_acked.append(marker)
                else:
                    self.errors[kind] += 1
            else:
                cards = answer.get("cards") or []
                self.cards += len(cards)
                if len(self.card_uuids) < 5000:
                    self.card_uuids.extend(c["uuid"] for c in cards if "uuid" in c)

    def client(self, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        n = 0
        with requests.Session() as http:
            while time.monotonic() < self.end:
                n += 1
                try:
                    self._one(http, rng, n)
                except Exception as e:  # a bug here must show as an error, not vanish
                    self._error("client", repr(e))


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
    return round(s[k], 1)


def stored_feedback(db_url: str) -> set[str]:
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url, future=True)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT user_comment FROM cds_feedback")).all()
    finally:
        engine.dispose()
    return {r[0] for r in rows if r[0]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    p.add_argument("--concurrency", type=int, default=32, help="client threads (default 32)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", help="also write the figures to this file")
    args = p.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="immunotox-load-") as tmp:
        workdir = Path(tmp)
        env = {
            "IMMUNOTOX_CDS_AUTH": "off",
            "IMMUNOTOX_DATABASE_URL": f"sqlite:///{workdir / 'store.sqlite3'}",
            "IMMUNOTOX_INSTANCE_DIR": str(workdir),
            "IMMUNOTOX_FHIR_ALLOWLIST": "",
        }
        log_path = workdir / "immunotox.log"
        try:
            with app_server("127.0.0.1", free_port(), args.workers, env, workdir) as base:
                run = Run(base, args.duration, args.seed)
                threads = [
                    threading.Thread(target=run.client, args=(i,), name=f"load-{i}", daemon=True)
                    for i in range(args.concurrency)
                ]
                t0 = time.monotonic()
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(timeout=args.duration + 120)
                elapsed = time.monotonic() - t0
                hung = sum(t.is_alive() for t in threads)
        except RuntimeError:  # the server did not start: show why
            sys.stderr.write(log_path.read_text("utf-8", errors="replace")[-4000:])
            raise
        server_log = log_path.read_text("utf-8", errors="replace")
        stored = stored_feedback(f"sqlite:///{workdir / 'store.sqlite3'}")

    acked = set(run.feedback_acked)
    lost = sorted(acked - stored)
    all_ms = [ms for v in run.latencies.values() for ms in v]
    ok = len(all_ms)
    errors = sum(run.errors.values()) + hung
    figures: dict[str, Any] = {
        "duration_s": round(elapsed, 1),
        "concurrency": args.concurrency,
        "workers": args.workers,
        "cpus": os.cpu_count(),
        "requests": ok + sum(run.errors.values()),
        "ok": ok,
        "errors": errors,
        "errors_by_kind": dict(run.errors),
        "error_samples": run.error_samples,
        "hung_clients": hung,
        "requests_per_s": round((ok + sum(run.errors.values())) / elapsed, 1),
        "p50_ms": percentile(all_ms, 50),
        "p99_ms": percentile(all_ms, 99),
        "by_kind": {
            k: {"n": len(v), "p50_ms": percentile(v, 50), "p99_ms": percentile(v, 99)}
            for k, v in run.latencies.items()
        },
        "cards_received": run.cards,
        "feedback_sent": run.feedback_sent,
        "feedback_acknowledged": len(acked),
        "feedback_stored": len(acked & stored),
        "feedback_lost": len(lost),
        "server_errors_logged": server_log.count(" ERROR "),
    }
    out = json.dumps(figures, indent=2)
    print(out)
    if errors:  # show why: the server's tracebacks first, then the end of its log
        sys.stderr.write(_tracebacks(server_log) + "--- end of the server log ---\n")
        sys.stderr.write(server_log[-2000:] + "\n")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(out + "\n", "utf-8")
    failed = errors or lost or figures["feedback_acknowledged"] != figures["feedback_sent"]
    return 1 if failed else 0


def _tracebacks(log: str, limit: int = 3) -> str:
    """The first `limit` tracebacks in a server log, each with the line that announced it."""
    lines = log.splitlines()
    out: list[str] = []
    found = 0
    for i, line in enumerate(lines):
        if line.startswith("Traceback") and found < limit:
            found += 1
            end = i + 1
            while end < len(lines) and (lines[end].startswith(" ") or lines[end] == ""):
                end += 1
            out += ["--- server traceback ---", *lines[max(i - 1, 0) : end + 1]]
    return "\n".join(out) + "\n" if out else ""


if __name__ == "__main__":
    raise SystemExit(main())
