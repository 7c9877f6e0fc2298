"""Performance benchmark: the CDS hooks and the SMART app, each against a do-nothing floor.

    bash scripts/bench.sh                          # the full run: a few minutes on 2 cores
    bash scripts/bench.sh --quick                  # tiny counts and patients (the smoke test)
    .venv/bin/python bench/hooks_bench.py --sizes 100,1000 --requests 50 --json out.json

It prints one table row per scenario and patient size, then PASS/MISS lines for the goals, the
machine and the date; `--json PATH` writes every figure. Exit status 0 when every request was
answered 200 with the expected content, 1 when any was not (the server's tracebacks are
printed), 2 for a bad argument. A MISS does not change the exit status: it is a finding.

What runs, all on loopback, started and stopped here:

- the product's app under `immunotox serve`'s gunicorn settings (`demo.runner.app_server_process`;
  `--workers`, default 2, 4 threads each) with CDS_AUTH=off, run by `bench/floor_server.py`,
  which adds `POST /cds-services/_floor`: it reads and parses the body and answers
  `{"cards": []}`. The hook deadline and FHIR timeout
  are raised (60 s, 30 s) so that big patients are measured rather than cut short, and the body
  limit to 64 MB (10,000 Observations make a 6 MB prefetch, over the default 5 MB).
- sekmet, a FHIR server (`demo.runner.sekmet_server`), holding one synthetic patient per size
  (`bench/bench_patient.py`: vital signs every few minutes, labs every six hours, a weight, a
  pembrolizumab dose, a norepinephrine infusion; always 50 MedicationAdministrations).
- the demo's SMART authorization server and FHIR gateway in front of sekmet
  (`bench/smart_gateway.py`, its own process). The app is launched once per patient as an EHR
  would launch it (every redirect followed, the session cookie kept); the timed GETs reuse that
  session.

Scenarios, for each size (number of Observations):

- `patient-view`  POST /cds-services/immunotox-patient-view with the full prefetch
- `order-sign`    POST /cds-services/immunotox-order-sign, full prefetch, a draft tocilizumab
                  1000 mg MedicationRequest in `context.draftOrders`
- `observation-create`  POST /cds-services/immunotox-observation-create, full prefetch, an
                  oxygen flow of 10 L/min being charted in `context.observations` (graded
                  without and with it: twice the assessment of patient-view)
- `fhir-fetch`    patient-view with an empty prefetch and `fhirServer` = sekmet (no token
                  needed; a dummy one is sent): the service issues its prefetch queries itself,
                  in parallel. Each of those queries (the same URLs, `next` links followed) is
                  also timed alone against sekmet; the goal compares the hook with the slowest.
- `app-page`      GET /app/?ctx=...: the assessment page, which reads the record from the FHIR
                  server (through the gateway) on every request
- `app-api`       GET /app/api/assessment?ctx=...: the same assessment as JSON

sekmet is one process that answers one search at a time, so the fhir-fetch and app rows
measure sekmet as much as immunotox; the output lists each query's time alone, their sum and
the time for all of them sent at once, to tell the two apart. The client runs on the same
machine and shares its cores.

Method: each endpoint is warmed up first. The floor gets the same body as the scenario (for
`fhir-fetch` and the app rows: the small fhir-fetch body). Bodies are serialised before the
timer starts (only a fresh hookInstance is spliced in); the timer runs from sending the request
to the last byte of the answer. At concurrency 1 scenario and floor requests alternate (ABBA
order); at concurrency 8 they alternate in blocks, so drift hits both alike. Request counts:
`--requests N` per scenario and concurrency (and as many to the floor); by default about five
seconds' worth per phase, between 10 and 200, from the warm-up timings.

Figures, one row per scenario and size:

- `n`          timed requests per concurrency (the floor got as many)
- `c1 p50/p99` latency in ms, one request at a time
- `c8 p50/p99` latency in ms with 8 requests in flight
- `req/s`      scenario requests completed per second at concurrency 8
- `MB/worker`  VmHWM (peak resident memory since the worker started, /proc/<pid>/status) of
               each gunicorn worker read after the scenario, max over workers. A high-water mark:
               sizes run in increasing order, so a row shows the peak up to and including it.
- `floor p50`  the floor's p50 at concurrency 1 with the same body
- `x floor`    scenario p50 (and p99) over the floor's, concurrency 1

The app asks for Observations sorted by date, and sekmet sorts with a subquery per row, which
is slow for big patients. Before the app rows of a size, the first page of that search is timed
(with the app's own page size, `smart_app.fetch`); when it takes longer than the app can wait
for the pages it needs within its overall deadline, the app rows for that size are not measured
and the output says so with the time measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import bench_patient as bp  # noqa: E402
from demo.runner import (  # noqa: E402
    app_server_process,
    free_port,
    load_bundle,
    sekmet_server,
    subprocess_server,
)

TIMEOUT = (5.0, 180.0)  # connect, read: every request the bench sends has one
CONCURRENCY = 8
SCENARIOS = (
    "patient-view",
    "order-sign",
    "observation-create",
    "fhir-fetch",
    "app-page",
    "app-api",
)
DEFAULT_SIZES = (100, 1000, 10000)
QUICK_SIZES = (100, 200)
ADMINISTRATIONS = 50
AUTO_BUDGET_S = 5.0  # default request count: about this much time per phase
AUTO_MIN, AUTO_MAX = 10, 200
WARMUP = 3
SORT_PROBE_TIMEOUT_S = 90.0
FHIR_QUERY_REPEATS = 5
FHIR_QUERY_LIMIT_S = 10.0  # a prefetch query alone slower than this: fhir-fetch not measured
SERVER_SETTINGS = {
    "IMMUNOTOX_CDS_AUTH": "off",
    "IMMUNOTOX_HOOK_DEADLINE_S": "60",
    "IMMUNOTOX_FHIR_TIMEOUT_S": "30",
    "IMMUNOTOX_MAX_CONTENT_LENGTH": str(64 * 1024 * 1024),
    "IMMUNOTOX_SESSION_COOKIE_SECURE": "false",
    "IMMUNOTOX_SMART_CLIENT_ID": "immunotox",
}
PV = "/cds-services/immunotox-patient-view"
OS = "/cds-services/immunotox-order-sign"
OC = "/cds-services/immunotox-observation-create"
OBSERVATION_HOOK = "org.immunotox.observation-create"
FLOOR = "/cds-services/_floor"
_HOOK_INSTANCE = "00000000-0000-4000-8000-000000000000"  # replaced in each request's body

# -- requests and their checks ----------------------------------------------------------------


@dataclass
class Result:
    ms: float
    status: int
    cards: int | None  # None: not a hook answer
    problem: str | None  # why the answer is not the expected one; None when it is


Check = Callable[[requests.Response], tuple[int | None, str | None]]


@dataclass
class Endpoint:
    """One thing to time: a method, a URL, a body made before the timer, a check after it."""

    method: str
    url: str
    check: Check
    body: bytes | None = None  # holds _HOOK_INSTANCE once, replaced by a fresh UUID each time
    headers: dict[str, str] = field(default_factory=dict)

    def prepare(self) -> bytes | None:
        if self.body is None:
            return None
        return self.body.replace(_HOOK_INSTANCE.encode(), str(uuid.uuid4()).encode(), 1)


_local = threading.local()


def _session() -> requests.Session:
    s = getattr(_local, "session", None)
    if s is None:
        s = _local.session = requests.Session()
    return s


def call(ep: Endpoint) -> Result:
    http = _session()
    data = ep.prepare()
    t0 = time.perf_counter()
    try:
        r = http.request(ep.method, ep.url, data=data, headers=ep.headers, timeout=TIMEOUT)
    except requests.RequestException as e:
        return Result((time.perf_counter() - t0) * 1000, 0, None, f"{type(e).__name__}: {e}"[:300])
    ms = (time.perf_counter() - t0) * 1000  # the body has been read (not streamed)
    if r.status_code != 200:
        return Result(ms, r.status_code, None, f"HTTP {r.status_code}: {r.text[:200]}")
    try:
        cards, problem = ep.check(r)
    except Exception as e:  # a malformed answer must count as a failure, not stop the run
        cards, problem = None, f"unreadable answer ({type(e).__name__})"
    return Result(ms, 200, cards, problem)


def check_floor(r: requests.Response) -> tuple[int | None, str | None]:
    cards = r.json().get("cards")
    return (0, None) if cards == [] else (None, f"the floor answered {str(cards)[:100]}")


def check_cards(expect: str) -> Check:
    """An answer with cards, one of whose summaries contains `expect`, no error card and no
    'could not be fetched' section (a degraded answer)."""

    def check(r: requests.Response) -> tuple[int | None, str | None]:
        cards = r.json().get("cards")
        if not isinstance(cards, list) or not cards:
            return 0, "no cards"
        summaries = [str(c.get("summary", "")) for c in cards]
        if any(s.startswith("immunotox could not assess") for s in summaries):
            return len(cards), "an error card"
        if any("could not be fetched" in str(c.get("detail", "")) for c in cards):
            return len(cards), "a degraded answer (data could not be fetched)"
        if not any(expect in s for s in summaries):
            return len(cards), f"no card mentions {expect!r}: {summaries}"
        return len(cards), None

    return check


def check_page(r: requests.Response) -> tuple[int | None, str | None]:
    if "data-error-kind" in r.text:
        kind = re.search(r'data-error-kind="([^"]+)"', r.text)
        return None, f"the app's error page ({kind.group(1) if kind else '?'})"
    if 'data-system="lee2014"' not in r.text:
        return None, "the page shows no grading"
    return None, None


def check_api(r: requests.Response) -> tuple[int | None, str | None]:
    doc = r.json()
    if doc.get("fetch_problems"):
        return None, f"fetch problems: {doc['fetch_problems']}"
    if not doc.get("crs"):
        return None, f"no CRS assessment in the answer: {sorted(doc)[:20]}"
    return None, None


# -- statistics -------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (the same as bench/load.py)."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


def stats(results: list[Result], wall_s: float | None = None) -> dict[str, Any]:
    ms = [r.ms for r in results]
    out: dict[str, Any] = {
        "n": len(ms),
        "p50_ms": round(pct(ms, 50), 2),
        "p90_ms": round(pct(ms, 90), 2),
        "p99_ms": round(pct(ms, 99), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
        "max_ms": round(max(ms), 2),
        "statuses": _counts(r.status for r in results),
        "cards": _counts(r.cards for r in results if r.cards is not None),
        "failed": sum(r.problem is not None for r in results),
    }
    if wall_s:
        out["req_per_s"] = round(len(ms) / wall_s, 2)
    return out


def _counts(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[str(v)] = out.get(str(v), 0) + 1
    return out


# -- one scenario -----------------------------------------------------------------------------


class Runner:
    """Times scenario/floor pairs; keeps every failure for the report."""

    def __init__(self, requests_each: int | None, warmup: int) -> None:
        self.requests_each = requests_each
        self.warmup = warmup
        self.pool = ThreadPoolExecutor(max_workers=CONCURRENCY, thread_name_prefix="client")
        self.failures: list[str] = []  # the first 50, with the scenario
        self.failed = 0
        self.requests = 0

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    def _keep(self, label: str, results: list[Result]) -> list[Result]:
        self.requests += len(results)
        for r in results:
            if r.problem:
                self.failed += 1
                if len(self.failures) < 50:
                    self.failures.append(f"{label}: {r.problem}")
        return results

    def measure(
        self,
        label: str,
        service: Endpoint,
        floor: Endpoint,
        after_phase: Callable[[int], dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Warm-up, then concurrency 1 and 8; `after_phase(concurrency)` adds its figures to
        that phase's (the workers' memory)."""
        warm = [call(ep) for _ in range(self.warmup) for ep in (service, floor)]
        self._keep(f"{label} warm-up", warm)
        n = self.requests_each
        if n is None:  # about AUTO_BUDGET_S of scenario requests per phase
            typical = statistics.median([r.ms for r in warm[0::2]]) / 1000
            n = max(AUTO_MIN, min(AUTO_MAX, round(AUTO_BUDGET_S / max(typical, 1e-3))))
        out: dict[str, Any] = {"requests": n}
        for conc in (1, CONCURRENCY):
            svc, flo, svc_wall, flo_wall = self._phase(service, floor, n, conc)
            self._keep(f"{label} c{conc}", svc)
            self._keep(f"{label} floor c{conc}", flo)
            s, f = stats(svc, svc_wall), stats(flo, flo_wall)
            out[f"c{conc}"] = {
                "service": s,
                "floor": f,
                "ratio_p50": round(s["p50_ms"] / max(f["p50_ms"], 1e-3), 2),
                "ratio_p99": round(s["p99_ms"] / max(f["p99_ms"], 1e-3), 2),
            }
            if after_phase:
                out[f"c{conc}"].update(after_phase(conc))
        return out

    def _phase(
        self, service: Endpoint, floor: Endpoint, n: int, conc: int
    ) -> tuple[list[Result], list[Result], float, float]:
        """n requests to each, alternating in ABBA order: single requests at concurrency 1; at
        higher concurrency up to 4 blocks of equal size, each at least `conc` requests."""
        blocks = n if conc == 1 else max(1, min(4, n // conc))
        sizes = [n // blocks + (1 if i < n % blocks else 0) for i in range(blocks)]
        got: dict[str, list[Result]] = {"service": [], "floor": []}
        wall = {"service": 0.0, "floor": 0.0}
        for i, size in enumerate(sizes):
            order = ("service", "floor") if i % 2 == 0 else ("floor", "service")
            for which in order:
                ep = service if which == "service" else floor
                t0 = time.perf_counter()
                if conc == 1:
                    got[which].append(call(ep))
                else:
                    futures = [self.pool.submit(call, ep) for _ in range(size)]
                    wait(futures)
                    got[which].extend(f.result() for f in futures)
                wall[which] += time.perf_counter() - t0
        return got["service"], got["floor"], wall["service"], wall["floor"]


# -- gunicorn worker memory --------------------------------------------------------------------


def worker_pids(master: int) -> list[int]:
    pids: list[int] = []
    for task in Path(f"/proc/{master}/task").glob("*"):
        try:
            pids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return sorted(set(pids))


def vmhwm_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    m = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    return round(int(m.group(1)) / 1024, 1) if m else None


def memory(master: int) -> dict[str, Any]:
    """VmHWM of each worker (by pid) and the largest, in MB."""
    per_worker = {}
    for pid in worker_pids(master):
        mb = vmhwm_mb(pid)
        if mb is not None:
            per_worker[str(pid)] = mb
    peak = max(per_worker.values()) if per_worker else None
    return {"workers_vmhwm_mb": per_worker, "peak_mb_per_worker": peak}


# -- the stack ------------------------------------------------------------------------------


@dataclass
class Stack:
    fhir: str  # sekmet's FHIR base URL (the hook's fhirServer)
    gateway: str  # the SMART authorization server and FHIR gateway
    app: str  # immunotox
    master: int  # the gunicorn master's pid
    log: Path  # immunotox's log


@contextmanager
def stack(workers: int, work: Path) -> Iterator[Stack]:
    gw_port, app_port = free_port(), free_port()
    gateway = f"http://127.0.0.1:{gw_port}"
    app_base = f"http://127.0.0.1:{app_port}"
    with sekmet_server(free_port(), work / "sekmet") as fhir:
        gw_args = [
            sys.executable,
            str(ROOT / "bench" / "smart_gateway.py"),
            "--upstream",
            fhir,
            "--port",
            str(gw_port),
            "--app-base",
            app_base,
        ]
        with subprocess_server(
            gw_args, f"{gateway}/fhir/.well-known/smart-configuration", work / "gw.log", "gateway"
        ):
            (work / "app").mkdir()
            env = {
                **SERVER_SETTINGS,
                "IMMUNOTOX_INSTANCE_DIR": str(work / "app"),
                "IMMUNOTOX_FHIR_ALLOWLIST": f"{fhir},{gateway}/fhir",
                "IMMUNOTOX_PUBLIC_BASE_URL": app_base,
                "IMMUNOTOX_SECRET_KEY": secrets.token_urlsafe(32),
            }
            env["PYTHONPATH"] = os.pathsep.join(
                filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])
            )
            with app_server_process(
                "127.0.0.1", app_port, workers, env, work / "app", module="bench.floor_server"
            ) as (base, proc):
                yield Stack(fhir, gateway, base, proc.pid, work / "app" / "immunotox.log")


def smart_launch(st: Stack, pid: str) -> tuple[str, str]:
    """An EHR launch of the app for `pid`, as a browser does it: (session cookie, ctx)."""
    http = requests.Session()
    page = http.get(f"{st.gateway}/ehr/launch/{pid}", timeout=TIMEOUT)
    if page.status_code != 200 or not page.url.startswith(f"{st.app}/app/"):
        raise RuntimeError(f"the SMART launch for {pid} ended at {page.url} ({page.status_code})")
    ctx = parse_qs(urlsplit(page.url).query)["ctx"][0]
    sid = http.cookies.get("immunotox_sid")
    if not sid:
        raise RuntimeError("the SMART launch set no session cookie")
    return f"immunotox_sid={sid}", ctx


# -- FHIR queries alone -------------------------------------------------------------------------


def prefetch_urls(fhir: str, pid: str) -> dict[str, str]:
    """The URLs the patient-view service fetches when nothing is prefetched."""
    from cds_hooks.prefetch import render
    from cds_hooks.registry import SERVICES

    out = {}
    for key, template in SERVICES["immunotox-patient-view"].prefetch.items():
        query = render(template, {"patientId": pid})
        assert query is not None
        out[key] = f"{fhir}/{query}"
    return out


def time_query(url: str, base: str) -> tuple[float, int, int]:
    """One prefetch query alone, as the service issues it (one connection for its pages, the
    token, `next` links under the base followed): (ms, pages, resources)."""
    headers = {"Accept": "application/fhir+json", "Authorization": "Bearer bench-dummy-token"}
    pages = resources = 0
    next_url: str | None = url
    t0 = time.perf_counter()
    with requests.Session() as http:
        while next_url:
            r = http.get(next_url, headers=headers, timeout=TIMEOUT, allow_redirects=False)
            if r.status_code != 200:
                raise RuntimeError(f"sekmet answered HTTP {r.status_code} to a prefetch query")
            doc = r.json()
            pages += 1
            if doc.get("resourceType") != "Bundle":
                return (time.perf_counter() - t0) * 1000, pages, 1
            entries = doc.get("entry") or []
            resources += sum((e.get("search") or {}).get("mode") != "outcome" for e in entries)
            next_url = next(
                (
                    str(lk["url"])
                    for lk in doc.get("link") or []
                    if lk.get("relation") == "next" and str(lk.get("url")).startswith(base + "/")
                ),
                None,
            )
    return (time.perf_counter() - t0) * 1000, pages, resources


def time_queries(fhir: str, pid: str, repeats: int) -> dict[str, Any]:
    """Each prefetch query alone (median of `repeats`), their sum, and all of them sent at once
    straight to the FHIR server (median wall time): what the server itself allows."""
    urls = prefetch_urls(fhir, pid)
    queries = {}
    for key, url in urls.items():
        runs = [time_query(url, fhir) for _ in range(repeats)]
        queries[key] = {
            "median_ms": round(statistics.median(r[0] for r in runs), 2),
            "max_ms": round(max(r[0] for r in runs), 2),
            "pages": runs[0][1],
            "resources": runs[0][2],
        }
    together = []
    with ThreadPoolExecutor(max_workers=len(urls), thread_name_prefix="fhir") as pool:
        for _ in range(repeats):
            t0 = time.perf_counter()
            list(pool.map(lambda u: time_query(u, fhir), urls.values()))
            together.append((time.perf_counter() - t0) * 1000)
    slowest = max(queries, key=lambda k: queries[k]["median_ms"])
    return {
        "queries": queries,
        "slowest_query": slowest,
        "slowest_ms": queries[slowest]["median_ms"],
        "sum_ms": round(sum(q["median_ms"] for q in queries.values()), 2),
        "all_at_once_ms": round(statistics.median(together), 2),
    }


def app_page_limit_s(size: int) -> float:
    """How long one page of the app's Observation search may take for the app to read a record
    of `size` Observations within its overall deadline (`smart_app.fetch`)."""
    from smart_app import fetch

    pages = min(fetch.MAX_PAGES, -(-size // fetch.PAGE_SIZE))
    return fetch.OVERALL_DEADLINE_S / pages


def app_page_probe_s(fhir: str, pid: str) -> float | None:
    """Seconds sekmet takes for the first page of the app's Observation search (its own
    parameters and page size, `smart_app.fetch`); None when it did not answer within
    SORT_PROBE_TIMEOUT_S."""
    from smart_app import fetch

    t0 = time.perf_counter()
    try:
        requests.get(
            f"{fhir}/Observation",
            params={
                "patient": pid,
                **fetch.SEARCHES["Observation"],
                "_count": str(fetch.PAGE_SIZE),
            },
            headers={"Accept": "application/fhir+json"},
            timeout=(5.0, SORT_PROBE_TIMEOUT_S),
        )
    except requests.Timeout:
        _wait_until_idle(fhir, pid)  # sekmet finishes the search before it answers anything else
        return None
    return time.perf_counter() - t0


def _wait_until_idle(fhir: str, pid: str, limit_s: float = 600) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            requests.get(f"{fhir}/Patient/{pid}", timeout=(5.0, 30.0))
            return
        except requests.RequestException:
            time.sleep(1)


# -- the run --------------------------------------------------------------------------------


def hook_body(hook: str, pid: str, prefetch: dict[str, Any] | None, fhir: str | None) -> bytes:
    context: dict[str, Any] = {"userId": "Practitioner/bench", "patientId": pid}
    if hook == "order-sign":
        context["draftOrders"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": bp.draft_order(pid, "tocilizumab")}],
        }
    if hook == OBSERVATION_HOOK:
        # oxygen started (10 L/min) for the febrile, hypotensive patient on norepinephrine:
        # the record is graded without and with it; the answer is one card, a new oxygen need
        context["observations"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": bp.oxygen_flow(pid, 10.0)}],
        }
    body: dict[str, Any] = {"hookInstance": _HOOK_INSTANCE, "hook": hook, "context": context}
    if fhir is not None:
        body["fhirServer"] = fhir
        body["fhirAuthorization"] = {
            "access_token": "bench-dummy-token",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.rs",
            "subject": "bench",
        }
    body["prefetch"] = prefetch if prefetch is not None else {}
    return json.dumps(body, separators=(",", ":")).encode()


def baseline_codes() -> set[str]:
    from services.knowledge.orders import BASELINE_WORKUP

    return {c for item in BASELINE_WORKUP for c in item.codes}


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    doc: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {
            "workers": args.workers,
            "threads_per_worker": 4,
            "concurrency": [1, CONCURRENCY],
            "requests": args.requests or f"auto ({AUTO_MIN}-{AUTO_MAX}, ~{AUTO_BUDGET_S:.0f} s)",
            "warmup": args.warmup,
            "query_repeats": args.query_repeats,
            "sizes": args.sizes,
            "administrations": ADMINISTRATIONS,
            "server_env": SERVER_SETTINGS,
        },
        "rows": [],
        "fhir": {},
        "notes": [],
    }
    runner = Runner(args.requests, args.warmup)
    try:
        with (
            tempfile.TemporaryDirectory(prefix="immunotox-bench-") as tmp,
            stack(args.workers, Path(tmp)) as st,
        ):
            try:
                for size in args.sizes:
                    _run_size(size, args, st, runner, doc)
            finally:
                doc["server_log"] = st.log.read_text("utf-8", errors="replace")
    finally:
        runner.close()
    doc["requests_total"] = runner.requests
    doc["failures"] = runner.failed
    doc["failure_samples"] = runner.failures
    doc["duration_s"] = round(time.monotonic() - started, 1)
    doc["goals"] = goals(doc)
    return doc


def _run_size(
    size: int, args: argparse.Namespace, st: Stack, runner: Runner, doc: dict[str, Any]
) -> None:
    """Every scenario for one patient size, in SCENARIOS order, one table row each."""
    p = bp.build_patient(size, ADMINISTRATIONS)
    t0 = time.perf_counter()
    load_bundle(st.fhir, bp.transaction(p))
    info: dict[str, Any] = {
        "load_s": round(time.perf_counter() - t0, 2),
        "vitals_every_min": round(p.vitals_every.total_seconds() / 60, 1),
    }
    doc["fhir"][str(size)] = info
    for scenario, service, floor in _endpoints(p, st, args, info, doc["notes"]):
        label = f"{scenario} {size}"
        print(f"  measuring {label} ...", file=sys.stderr, flush=True)
        row: dict[str, Any] = {
            "scenario": scenario,
            "observations": size,
            "administrations": ADMINISTRATIONS,
            "body_bytes": len(service.body or b""),
            "floor_body_bytes": len(floor.body or b""),
            **runner.measure(label, service, floor, lambda _c: memory(st.master)),
        }
        row["peak_mb_per_worker"] = row["c8"]["peak_mb_per_worker"]  # after the whole scenario
        doc["rows"].append(row)


def _endpoints(
    p: bp.BenchPatient, st: Stack, args: argparse.Namespace, info: dict[str, Any], notes: list[str]
) -> Iterator[tuple[str, Endpoint, Endpoint]]:
    """(scenario, its endpoint, its floor) for one patient. Lazy: the FHIR queries are timed and
    the app launched only when their turn comes, after the rows before them are measured."""
    json_type = {"Content-Type": "application/json"}

    def post(path: str, check: Check, body: bytes) -> Endpoint:
        return Endpoint("POST", st.app + path, check, body, json_type)

    size = len(p.observations)
    full = bp.prefetch(p, baseline_codes())
    for scenario, path, expect in (
        ("patient-view", PV, "CRS grade"),
        ("order-sign", OS, "exceeds the maximum"),
        ("observation-create", OC, "New oxygen requirement"),
    ):
        hook = OBSERVATION_HOOK if scenario == "observation-create" else scenario
        body = hook_body(hook, p.pid, full, None)
        yield scenario, post(path, check_cards(expect), body), post(FLOOR, check_floor, body)
    del full

    small = hook_body("patient-view", p.pid, None, st.fhir)  # no prefetch: fetch it all
    small_floor = post(FLOOR, check_floor, small)
    info.update(time_queries(st.fhir, p.pid, args.query_repeats))
    if info["slowest_ms"] > FHIR_QUERY_LIMIT_S * 1000:
        notes.append(
            f"fhir-fetch at {size:,} Observations not measured: sekmet takes "
            f"{info['slowest_ms'] / 1000:.1f} s for the {info['slowest_query']} query alone."
        )
    else:
        yield "fhir-fetch", post(PV, check_cards("CRS grade"), small), small_floor

    page_s = app_page_probe_s(st.fhir, p.pid)
    info["app_page_s"] = None if page_s is None else round(page_s, 3)
    limit = app_page_limit_s(size)
    if page_s is None or page_s > limit:
        from smart_app import fetch

        took = f"{page_s:.1f} s" if page_s else f"over {SORT_PROBE_TIMEOUT_S:.0f} s"
        pages = -(-size // fetch.PAGE_SIZE)
        notes.append(
            f"app-page and app-api at {size:,} Observations not measured: sekmet took {took} "
            f"for one page of the app's Observation search ({fetch.PAGE_SIZE:,} a "
            f"page); the app reads {pages} such pages within {fetch.OVERALL_DEADLINE_S:.0f} s, "
            f"so {limit:.1f} s a page at most."
        )
        return
    cookie, ctx = smart_launch(st, p.pid)
    for scenario, path, check in (
        ("app-page", "/app/", check_page),
        ("app-api", "/app/api/assessment", check_api),
    ):
        url = f"{st.app}{path}?ctx={ctx}"
        yield scenario, Endpoint("GET", url, check, None, {"Cookie": cookie}), small_floor


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        m = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        cpu = m.group(1).strip() if m else cpu
    except OSError:
        pass
    try:
        sekmet = metadata.version("sekmet-fhir")
    except metadata.PackageNotFoundError:
        sekmet = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sekmet": sekmet,
    }


# -- goals ------------------------------------------------------------------------------------


def _row(doc: dict[str, Any], scenario: str, size: int) -> dict[str, Any] | None:
    return next(
        (r for r in doc["rows"] if r["scenario"] == scenario and r["observations"] == size), None
    )


def goals(doc: dict[str, Any]) -> list[dict[str, str]]:
    """The issue's goals, each PASS, MISS or SKIP (not measured in this run) with its figures."""
    out: list[dict[str, str]] = []

    def goal(name: str, ok: bool | None, text: str) -> None:
        result = "SKIP" if ok is None else "PASS" if ok else "MISS"
        out.append({"goal": name, "result": result, "text": text})

    name = "patient-view, 1,000 Observations, c1: p50 <= 3x floor p50"
    pv1k = _row(doc, "patient-view", 1000)
    if pv1k:
        c1 = pv1k["c1"]
        goal(
            name,
            c1["ratio_p50"] <= 3,
            f"{name}: {c1['service']['p50_ms']:.1f} ms = {c1['ratio_p50']:.2f}x "
            f"{c1['floor']['p50_ms']:.1f} ms",
        )
        name = "patient-view, 1,000 Observations, c1: p99 < 50 ms"
        goal(name, c1["service"]["p99_ms"] < 50, f"{name}: {c1['service']['p99_ms']:.1f} ms")
    else:
        goal(name, None, f"{name}: not measured")
        name = "patient-view, 1,000 Observations, c1: p99 < 50 ms"
        goal(name, None, f"{name}: not measured")

    name = "observation-create, 1,000 Observations, c1: p50 <= 3x floor p50 (patient-view's goal)"
    oc1k = _row(doc, "observation-create", 1000)
    if oc1k:
        c1 = oc1k["c1"]
        goal(
            name,
            c1["ratio_p50"] <= 3,
            f"{name}: {c1['service']['p50_ms']:.1f} ms = {c1['ratio_p50']:.2f}x "
            f"{c1['floor']['p50_ms']:.1f} ms",
        )
    else:
        goal(name, None, f"{name}: not measured")

    name = "patient-view c1 p50: 10,000 Observations <= 12x 1,000"
    pv10k = _row(doc, "patient-view", 10000)
    if pv1k and pv10k:
        a, b = pv10k["c1"]["service"]["p50_ms"], pv1k["c1"]["service"]["p50_ms"]
        goal(name, a / b <= 12, f"{name}: {a:.1f} ms / {b:.1f} ms = {a / b:.1f}x")
    else:
        goal(name, None, f"{name}: not measured")

    fetched = [r for r in doc["rows"] if r["scenario"] == "fhir-fetch"]
    for r in fetched:
        size = r["observations"]
        info = doc["fhir"][str(size)]
        key, q = info["slowest_query"], info["slowest_ms"]
        hook = r["c1"]["service"]["p50_ms"]
        name = f"fhir-fetch, {size:,} Observations, c1: p50 <= 1.5x slowest query alone"
        goal(
            name,
            hook / q <= 1.5,
            f"{name}: {hook:.1f} ms / {q:.1f} ms ({key}) = {hook / q:.2f}x; the same queries "
            f"sent at once straight to sekmet take {info['all_at_once_ms']:.1f} ms, "
            f"one after another {info['sum_ms']:.1f} ms",
        )
    if not fetched:
        name = "fhir-fetch: p50 <= 1.5x slowest query alone"
        goal(name, None, f"{name}: not measured")

    name = "peak memory per worker at 10,000 Observations < 200 MB"
    big = [r for r in doc["rows"] if r["observations"] == 10000 and r["peak_mb_per_worker"]]
    if big:
        worst = max(big, key=lambda r: r["peak_mb_per_worker"])
        first = big[0]  # the first scenario at this size: its c1 reading is one request at a time
        goal(
            name,
            worst["peak_mb_per_worker"] < 200,
            f"{name}: {worst['peak_mb_per_worker']:.0f} MB (VmHWM after {worst['scenario']}; "
            f"{first['c1']['peak_mb_per_worker']:.0f} MB after {first['scenario']} at "
            "concurrency 1 only)",
        )
    else:
        goal(name, None, f"{name}: not measured")
    return out


# -- output -----------------------------------------------------------------------------------

COLUMNS = (
    ("scenario", 18, "<"),
    ("obs", 6, ">"),
    ("n", 4, ">"),
    ("c1 p50", 8, ">"),
    ("c1 p99", 8, ">"),
    ("c8 p50", 8, ">"),
    ("c8 p99", 8, ">"),
    ("req/s", 7, ">"),
    ("MB/worker", 9, ">"),
    ("floor p50", 10, ">"),
    ("x floor p50", 12, ">"),
    ("p99", 6, ">"),
)


def table(doc: dict[str, Any]) -> str:
    def line(cells: list[str]) -> str:
        return "  ".join(f"{c:{a}{w}}" for c, (_h, w, a) in zip(cells, COLUMNS, strict=True))

    out = [line([h for h, _w, _a in COLUMNS]), line(["-" * w for _h, w, _a in COLUMNS])]
    for r in doc["rows"]:
        c1, c8 = r["c1"], r["c8"]
        mb = r["peak_mb_per_worker"]
        out.append(
            line(
                [
                    r["scenario"],
                    f"{r['observations']:,}",
                    str(r["requests"]),
                    f"{c1['service']['p50_ms']:.1f}",
                    f"{c1['service']['p99_ms']:.1f}",
                    f"{c8['service']['p50_ms']:.1f}",
                    f"{c8['service']['p99_ms']:.1f}",
                    f"{c8['service']['req_per_s']:.1f}",
                    "?" if mb is None else f"{mb:.0f}",
                    f"{c1['floor']['p50_ms']:.1f}",
                    f"{c1['ratio_p50']:.2f}",
                    f"{c1['ratio_p99']:.2f}",
                ]
            )
        )
    return "\n".join(out)


def report(doc: dict[str, Any]) -> str:
    m, s = doc["machine"], doc["settings"]
    out = [
        f"immunotox benchmark, {doc['date']}",
        f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, sekmet {m['sekmet']}",
        f"server: gunicorn, {s['workers']} workers x {s['threads_per_worker']} threads; client on "
        f"the same machine; {ADMINISTRATIONS} MedicationAdministrations at every size",
        "latency in ms; n requests per concurrency to the scenario and as many to the floor; "
        "x floor: p50 and p99 over the floor's, c1",
        "",
        table(doc),
        "",
        f"sekmet, each prefetch query of the service alone (median of {s['query_repeats']}, ms, "
        "pages):",
    ]
    for size, info in doc["fhir"].items():
        line = f"  {int(size):>6,} Observations (loaded in {info['load_s']:.1f} s"
        line += f", vitals every {info['vitals_every_min']:g} min)"
        if "queries" in info:
            line += ": " + ", ".join(
                f"{k} {q['median_ms']:.0f} ({q['pages']})"
                for k, q in sorted(info["queries"].items(), key=lambda kv: -kv[1]["median_ms"])
            )
            line += f"; sum {info['sum_ms']:.0f}, all at once {info['all_at_once_ms']:.0f}"
        if info.get("app_page_s") is not None:
            line += f"; the app's Observation page {info['app_page_s'] * 1000:.0f}"
        out.append(line)
    out += [f"note: {n}" for n in doc["notes"]]
    out.append("")
    out += [f"{g['result']}  {g['text']}" for g in doc["goals"]]
    out.append("")
    failed = doc["failures"]
    out.append(
        f"{doc['requests_total']} requests: "
        + (
            f"{failed} FAILED (not 200, or not the expected content)"
            if failed
            else "every one answered 200 with the expected content"
        )
        + f". The run took {doc['duration_s']:.0f} s."
    )
    return "\n".join(out)


def _tracebacks(log: str, limit: int = 3) -> str:
    lines = log.splitlines()
    out: list[str] = []
    for i, line in enumerate(lines):
        if line.startswith("Traceback") and limit:
            limit -= 1
            end = i + 1
            while end < len(lines) and (lines[end].startswith(" ") or not lines[end]):
                end += 1
            out += lines[max(i - 1, 0) : end + 1]
    return "\n".join(out)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--requests",
        type=int,
        help="timed requests per scenario, size and concurrency, and as many to the floor "
        f"(default: about {AUTO_BUDGET_S:.0f} s worth, {AUTO_MIN} to {AUTO_MAX})",
    )
    p.add_argument(
        "--sizes",
        default=",".join(str(s) for s in DEFAULT_SIZES),
        help="Observations per patient, comma-separated (default 100,1000,10000)",
    )
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    p.add_argument("--quick", action="store_true", help="tiny counts and patients (smoke test)")
    p.add_argument("--json", help="also write every figure to this file")
    args = p.parse_args(argv)
    try:
        sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    except ValueError:
        p.error("--sizes takes whole numbers, e.g. 100,1000,10000")
    if not sizes or sizes[0] < 20:
        p.error("--sizes: every size must be at least 20")
    if args.requests is not None and args.requests < 1:
        p.error("--requests must be at least 1")
    args.warmup = WARMUP
    args.query_repeats = FHIR_QUERY_REPEATS
    if args.quick:
        if args.sizes == p.get_default("sizes"):
            sizes = list(QUICK_SIZES)
        args.requests = args.requests or CONCURRENCY
        args.warmup, args.query_repeats = 1, 1
    args.sizes = sizes
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(
        f"immunotox benchmark: sizes {', '.join(f'{s:,}' for s in args.sizes)}; "
        "starting sekmet, the SMART gateway and the server ...",
        file=sys.stderr,
        flush=True,
    )
    try:
        doc = run(args)
    except RuntimeError as e:  # a server did not start, or the SMART launch failed
        print(f"immunotox benchmark: {e}", file=sys.stderr)
        return 1
    print(report(doc), flush=True)
    server_log = doc.pop("server_log", "")
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2) + "\n", "utf-8")
    if doc["failures"]:
        sys.stderr.write("\n".join(doc["failure_samples"][:10]) + "\n")
        sys.stderr.write(_tracebacks(server_log) + "\n--- end of the server log ---\n")
        sys.stderr.write(server_log[-2000:] + "\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
