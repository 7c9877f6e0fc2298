"""`immunotox demo`: everything a clinician needs to see the product, started by one command.

1. a real FHIR server (`sekmet serve`, a subprocess) loaded with every `demo/patients/*.json`
   transaction Bundle, dates shifted so each patient's latest data is a few minutes old;
2. the demo EHR (in this process): patient list, SMART EHR launch of the app, CDS Hooks calls
   (patient-view, order-select, order-sign) with prefetch built from the FHIR server, and a
   local SMART authorization server (Authlib) plus a FHIR gateway in front of sekmet that
   serves `.well-known/smart-configuration` and checks bearer tokens;
3. the CDS service and the SMART app (`immunotox.server.serve`, a subprocess under gunicorn).

Ctrl-C stops all three.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[1]
PATIENTS_DIR = REPO / "demo" / "patients"
SEKMET_PIN = "sekmet-fhir==0.1.1"

# -- date shift -----------------------------------------------------------------------------

_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Values that are not clinical event times: left as they are.
_KEEP = {"birthDate", "lastUpdated"}


def _parse(s: str) -> datetime | None:
    if not _DATETIME.match(s):
        return None
    try:
        return datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None


def _walk(node: Any, fn: Any, key: str | None = None) -> Any:
    if isinstance(node, dict):
        return {k: _walk(v, fn, k) for k, v in node.items()}
    if isinstance(node, list):
        return [_walk(v, fn, key) for v in node]
    if isinstance(node, str) and key not in _KEEP:
        return fn(node)
    return node


def latest_instant(doc: Any) -> datetime | None:
    found: list[datetime] = []

    def see(s: str) -> str:
        t = _parse(s)
        if t is not None:
            found.append(t)
        return s

    _walk(doc, see)
    return max(found) if found else None


def shift_dates(
    doc: Any, now: datetime | None = None, lag: timedelta = timedelta(minutes=5)
) -> Any:
    """A copy of `doc` with every dateTime (and date) moved by one offset so that the latest
    dateTime is `lag` before `now`. Whole-day shifts keep the time of day; birth dates and
    `meta.lastUpdated` are left alone."""
    now = now or datetime.now(UTC)
    latest = latest_instant(doc)
    if latest is None:
        return doc
    delta = now - lag - latest
    days = timedelta(days=delta.days)  # shift dates by whole days only

    def move(s: str) -> str:
        t = _parse(s)
        if t is not None:
            moved = t + delta
            if "." in s:
                return moved.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            return moved.isoformat(timespec="seconds").replace("+00:00", "Z")
        if _DATE.match(s):
            try:
                return (datetime.fromisoformat(s) + days).date().isoformat()
            except ValueError:
                return s
        return s

    return _walk(doc, move)


# -- the FHIR server ------------------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def sekmet_executable() -> str | None:
    exe = Path(sys.executable).with_name("sekmet")
    if exe.exists():
        return str(exe)
    return shutil.which("sekmet")


@contextmanager
def subprocess_server(
    args: list[str],
    ready_url: str,
    log_path: Path,
    name: str,
    timeout_s: float = 60,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Iterator[subprocess.Popen]:
    """Start a server process in its own session with its output in `log_path`, wait until
    `ready_url` answers, yield the process, and stop it (and its children) on exit: the one
    home for start, wait, log and stop. If it does not start, the RuntimeError carries the last
    lines of its log (a crash at start-up is then reported with its traceback)."""
    log = open(log_path, "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(  # noqa: S603 - callers pass fixed arguments
        args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        try:
            _wait_for(ready_url, proc, timeout_s, name)
        except RuntimeError as e:
            _stop(proc)
            raise RuntimeError(
                f"{e}; the end of its log ({log_path}):\n{log_tail(log_path)}"
            ) from None
        yield proc
    finally:
        _stop(proc)
        log.close()


@contextmanager
def sekmet_server(port: int, workdir: Path, log_path: Path | None = None) -> Iterator[str]:
    """Run `sekmet serve` on loopback; yield its FHIR base URL. Raises RuntimeError if it
    cannot start."""
    exe = sekmet_executable()
    if exe is None:
        raise RuntimeError(f"the sekmet command is not installed (pip install {SEKMET_PIN})")
    workdir.mkdir(parents=True, exist_ok=True)
    base = f"http://127.0.0.1:{port}/fhir"
    (workdir / "settings.yaml").write_text(
        "validation:\n  inbound: warn\nsimulator:\n  enabled: false\nlog_inbound: false\n"
        f"data_dir: {workdir / 'data'}\nown_private_key_path: {workdir / 'keys' / 'own.pem'}\n"
    )
    env = {
        **os.environ,
        "SEKMET_BASE_URL": base,
        "SEKMET_DB": str(workdir / "sekmet.sqlite3"),
        "SEKMET_CONFIG": str(workdir / "settings.yaml"),
    }
    with subprocess_server(
        [exe, "serve", "--host", "127.0.0.1", "--port", str(port)],
        f"{base}/metadata",
        log_path or workdir / "sekmet.log",
        "sekmet",
        timeout_s=30,
        env=env,
        cwd=workdir,
    ):
        yield base


def log_tail(path: Path, max_lines: int = 40, max_bytes: int = 16_000) -> str:
    """The last lines of a log file, for an error message ("(empty)" or "(unreadable)")."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - max_bytes))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return "(unreadable)"
    lines = text.splitlines()[-max_lines:]
    return "\n".join(lines) if lines else "(empty)"


def _wait_for(url: str, proc: subprocess.Popen, timeout_s: float, name: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with status {proc.returncode} while starting")
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not answer at {url} within {timeout_s:.0f} s")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=8)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def load_bundle(base: str, bundle: dict[str, Any], now: datetime | None = None) -> list[str]:
    """POST one transaction Bundle (dates shifted); return the Patient ids it created."""
    shifted = shift_dates(bundle, now)
    r = requests.post(
        base,
        data=json.dumps(shifted),
        headers={"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"},
        timeout=60,
    )
    if r.status_code >= 300:
        raise RuntimeError(f"the FHIR server refused a demo bundle: HTTP {r.status_code}")
    ids = []
    for e in r.json().get("entry") or []:
        loc = (e.get("response") or {}).get("location") or ""
        m = re.search(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})", loc)
        if m and m.group(1) not in ids:
            ids.append(m.group(1))
    return ids


class ThreadedServer:
    """A WSGI app on a werkzeug threaded server in a background thread."""

    def __init__(self, app: Any, host: str, port: int):
        from werkzeug.serving import make_server

        self.server = make_server(host, port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> ThreadedServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


# -- the whole demo -------------------------------------------------------------------------


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


@contextmanager
def app_server(host: str, port: int, workers: int, env_extra: dict[str, str], workdir: Path):
    """`immunotox serve` (gunicorn) as a subprocess; yields its base URL."""
    with app_server_process(host, port, workers, env_extra, workdir) as (base, _proc):
        yield base


@contextmanager
def app_server_process(
    host: str,
    port: int,
    workers: int,
    env_extra: dict[str, str],
    workdir: Path,
    module: str = "immunotox.cli",
) -> Iterator[tuple[str, subprocess.Popen]]:
    """`app_server`, yielding the base URL and the process: the gunicorn master, whose children
    are the workers (the benchmark reads their memory). Its log is `workdir/immunotox.log`.
    `module` is run with `-m` and the arguments of `immunotox serve` (the benchmark runs its
    own server module, which serves the product's app plus a do-nothing endpoint)."""
    base = f"http://{host}:{port}"
    with subprocess_server(
        [
            sys.executable,
            "-m",
            module,
            "serve",
            "--host",
            host,
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        f"{base}/smart/.well-known/jwks.json",
        workdir / "immunotox.log",
        "immunotox serve",
        env={**os.environ, **env_extra},
        cwd=workdir,
    ) as proc:
        yield base, proc


@contextmanager
def demo_stack(
    host: str = "127.0.0.1",
    port: int = 8080,
    fhir_port: int = 8081,
    app_port: int | None = None,
    workers: int = 2,
    workdir: Path | None = None,
    patients_dir: Path = PATIENTS_DIR,
) -> Iterator[dict[str, Any]]:
    """Start the FHIR server, the app and the EHR; yield their URLs; stop them on exit. When
    something fails, the temporary folder with every server's log is kept and named in the
    RuntimeError."""
    import secrets

    from demo.authserver import DevClient, DevSmartServer

    missing = [p for p in (patients_dir, REPO / "demo" / "ehr") if not p.is_dir()]
    if missing:
        raise RuntimeError(
            "the demo needs the project's source checkout: its demo patients and demo EHR "
            f"({', '.join(str(p) for p in missing)}) are not part of the installed package. "
            "Run it from a clone of the repository: bash scripts/demo.sh"
        )
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))  # demo/ehr is not part of the installed package
    from demo.ehr.app import create_ehr_app

    app_port = app_port or (port + 2 if _port_free(host, port + 2) else free_port(host))
    for name, p in (("--port", port), ("--fhir-port", fhir_port), ("app", app_port)):
        if not _port_free(host, p):
            raise RuntimeError(f"port {p} ({name}) is in use; choose another with {name}")
    own_tmp = workdir is None
    work = Path(tempfile.mkdtemp(prefix="immunotox-demo-")) if workdir is None else workdir
    ehr_base = f"http://{host}:{port}"
    app_base = f"http://{host}:{app_port}"
    ehr = None
    failed = False
    try:
        with sekmet_server(fhir_port, work / "fhir") as fhir_base:
            loaded: list[str] = []
            for path in sorted(patients_dir.glob("*.json")):
                loaded += load_bundle(fhir_base, json.loads(path.read_text(encoding="utf-8")))
            dev = DevSmartServer(fhir_base, ehr_base)
            dev.register_client(DevClient("immunotox", [f"{app_base}/smart/callback"]))
            env = {
                "IMMUNOTOX_CDS_AUTH": "off",
                "IMMUNOTOX_FHIR_ALLOWLIST": dev.fhir_base,
                "IMMUNOTOX_DEMO": "true",
                "IMMUNOTOX_SESSION_COOKIE_SECURE": "false",
                "IMMUNOTOX_INSTANCE_DIR": str(work / "app"),
                "IMMUNOTOX_PUBLIC_BASE_URL": app_base,
                "IMMUNOTOX_SECRET_KEY": secrets.token_urlsafe(32),
                "IMMUNOTOX_SMART_CLIENT_ID": "immunotox",
            }
            (work / "app").mkdir(parents=True, exist_ok=True)
            with app_server(host, app_port, workers, env, work / "app"):
                ehr = ThreadedServer(create_ehr_app(dev, app_base), host, port).start()
                yield {
                    "ehr": ehr_base,
                    "app": app_base,
                    "fhir": dev.fhir_base,
                    "fhir_upstream": fhir_base,
                    "patients": loaded,
                    "workdir": work,
                    "dev": dev,
                }
    except (KeyboardInterrupt, GeneratorExit):
        raise
    except RuntimeError as e:
        failed = True
        raise RuntimeError(f"{e}; the logs are kept in {work}") from None
    except BaseException:
        failed = True
        raise
    finally:
        if ehr is not None:
            ehr.stop()
        if own_tmp and not failed:
            shutil.rmtree(work, ignore_errors=True)


def describe(urls: dict[str, Any]) -> str:
    """Every URL the demo serves, grouped by server, and where the logs are."""
    ehr, app, fhir = urls["ehr"], urls["app"], urls["fhir"]
    rows = [
        ("Open the demo EHR", f"{ehr}/"),
        ("  authorization", f"{ehr}/auth/authorize"),
        ("  token", f"{ehr}/auth/token"),
        ("FHIR base (gateway)", fhir),
        ("  SMART configuration", f"{fhir}/.well-known/smart-configuration"),
        ("FHIR server (sekmet)", urls["fhir_upstream"]),
        ("CDS discovery", f"{app}/cds-services"),
        ("SMART launch URL", f"{app}/smart/launch"),
        ("Standalone launch", f"{app}/smart/standalone"),
        ("  redirect URI", f"{app}/smart/callback"),
        ("  app JWKS", f"{app}/smart/.well-known/jwks.json"),
        ("Health", f"{app}/healthz  {app}/readyz"),
        ("Logs", str(urls["workdir"])),
    ]
    width = max(len(k) for k, _ in rows) + 2
    lines = [f"  {k + ':':<{width}}{v}" for k, v in rows]
    n = len(urls["patients"])
    return "\n" + "\n".join(lines) + f"\n  {n} demo patients loaded. Press Ctrl-C to stop.\n"


def main(args: argparse.Namespace) -> int:
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    host = "127.0.0.1" if args.host in ("0.0.0.0", "", None) else args.host  # noqa: S104

    def on_term(_sig: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C even if inherited ignored
    # request lines carry patient ids and OAuth parameters: keep them out of the console
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print("immunotox demo: starting the FHIR server, the service and the demo EHR ...", flush=True)
    try:
        with demo_stack(
            host,
            args.port,
            args.fhir_port,
            app_port=getattr(args, "app_port", None),
            workers=args.workers,
        ) as urls:
            print(describe(urls), flush=True)
            while True:
                time.sleep(1)
    except KeyboardInterrupt:
        print("\nimmunotox demo: stopping ...", flush=True)
    except RuntimeError as e:
        print(f"immunotox demo: {e}", file=sys.stderr)
        return 1
    print("immunotox demo: stopped.", flush=True)
    return 0
