"""`immunotox` command line: assess, serve, feedback-report, demo."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any


class UsageError(Exception):
    """Bad input from the command line: one line on standard error, exit status 2."""


def _parse_at(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    from services.timeutil import parse_instant

    t = parse_instant(raw)
    if t is None:
        raise UsageError(
            f"--at {raw!r} is not an ISO 8601 date or date-time (e.g. 2026-11-20T12:00:00Z)"
        )
    return t


def cmd_assess(args: argparse.Namespace) -> int:
    import os

    from services.assess import InputError, assess_bundle, primary_system

    at = _parse_at(args.at)  # before any reading: a bad --at or system fails fast
    try:
        primary = primary_system(args.crs_primary or os.environ.get("IMMUNOTOX_CRS_PRIMARY"))
    except ValueError as e:
        print(f"immunotox: {e}", file=sys.stderr)
        return 2
    if args.fhir_base:
        return _assess_from_server(args, at, primary)
    if not args.bundle:
        raise UsageError(
            "give a Bundle file (or - for standard input), or --fhir-base and --patient"
        )
    path = Path(args.bundle)
    try:
        data = path.read_bytes() if args.bundle != "-" else sys.stdin.buffer.read()
    except OSError as e:
        print(f"immunotox: cannot read {args.bundle}: {e.strerror}", file=sys.stderr)
        return 2
    try:
        raw = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        print(
            f"immunotox: {args.bundle} is not UTF-8 text (byte {e.start}); FHIR JSON is UTF-8",
            file=sys.stderr,
        )
        return 2
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as e:
        print(
            f"immunotox: {args.bundle} is not JSON (line {e.lineno}, column {e.colno}: {e.msg})",
            file=sys.stderr,
        )
        return 2
    try:
        assessment = assess_bundle(doc, at=at, crs_primary=primary)
    except InputError as e:
        print(f"immunotox: {e}", file=sys.stderr)
        return 2
    _print_assessment(args, assessment)
    return 0


def _assess_from_server(args: argparse.Namespace, at: datetime | None, primary: Any) -> int:
    from immunotox.fhir_read import ReadError, read_patient_bundle
    from services.assess import InputError, assess_bundle

    if not args.patient:
        raise UsageError("--fhir-base needs --patient ID")
    if args.bundle:
        raise UsageError("give either a Bundle file or --fhir-base, not both")
    try:
        bundle = read_patient_bundle(args.fhir_base, args.patient, timeout=args.timeout)
    except ReadError as e:
        print(f"immunotox: {e}", file=sys.stderr)
        return 1
    try:
        assessment = assess_bundle(bundle, at=at, crs_primary=primary)
    except InputError as e:
        print(f"immunotox: {e}", file=sys.stderr)
        return 2
    _print_assessment(args, assessment)
    return 0


def _print_assessment(args: argparse.Namespace, assessment) -> None:
    import os

    from services.format import display_zone
    from services.render import render_text

    if args.format == "json":
        json.dump(assessment.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        # Local times in the text (IMMUNOTOX_TIMEZONE); the JSON keeps its UTC instants.
        with display_zone(os.environ.get("IMMUNOTOX_TIMEZONE")):
            sys.stdout.write(render_text(assessment))


def cmd_rules(args: argparse.Namespace) -> int:
    from services.knowledge.document import render

    sys.stdout.write(render())
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from immunotox import config as config_mod
    from immunotox.server import serve

    cfg = config_mod.load()
    if str(cfg.get("CDS_AUTH", "on")).lower() != "off" and not cfg.get("PUBLIC_BASE_URL"):
        raise UsageError(
            "IMMUNOTOX_PUBLIC_BASE_URL must be set when client JWTs are checked "
            "(IMMUNOTOX_CDS_AUTH=on): it is the audience every token must name"
        )

    return serve(host=args.host, port=args.port, workers=args.workers)


def cmd_feedback_report(args: argparse.Namespace) -> int:
    from cds_hooks.feedback import report_main

    return report_main(args)


def cmd_db(args: argparse.Namespace) -> int:
    import cds_hooks.feedback  # noqa: F401 - its tables join the store's metadata
    from immunotox import config as config_mod
    from immunotox import migrate
    from immunotox.store import describe_url, make_engine, open_engine

    url = args.database_url or config_mod.load()["DATABASE_URL"]
    if args.action == "current":
        engine = make_engine(url)
        try:
            rev = migrate.current(engine)
        except Exception as e:  # the driver's own error types: reported in one line
            print(f"immunotox: {describe_url(url)}: {type(e).__name__}", file=sys.stderr)
            return 2
        finally:
            engine.dispose()
        print(f"{rev or 'empty (no migration applied)'} (newest: {migrate.head()})")
        return 0
    open_engine(url).dispose()  # migrates to the newest revision, or one line why not
    print(f"immunotox: the store at {describe_url(url)} is at revision {migrate.head()}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    try:
        from demo.runner import main as demo_main
    except ImportError:
        raise UsageError(
            "the demo needs the project's source checkout: its runner, demo patients and demo "
            "EHR (demo/) are not part of the installed package. Run it from a clone of the "
            "repository: bash scripts/demo.sh"
        ) from None

    return demo_main(args)


def build_parser() -> argparse.ArgumentParser:
    from immunotox import __version__

    p = argparse.ArgumentParser(
        prog="immunotox", description="Immunotherapy toxicity decision support"
    )
    p.add_argument("--version", action="version", version=f"immunotox {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser(
        "assess",
        help="assess one patient's FHIR resources (a Bundle, or read from a FHIR server)",
    )
    a.add_argument(
        "bundle", nargs="?", help="path to a FHIR R4 Bundle (JSON), or - for standard input"
    )
    a.add_argument("--at", help="assessment time, ISO 8601 (default: now)")
    a.add_argument("--format", choices=("json", "text"), default="text")
    a.add_argument(
        "--crs-primary",
        help="CRS system driving the plan: astct2019 (default), lee2014, ctcae5 "
        "(default from IMMUNOTOX_CRS_PRIMARY)",
    )
    a.add_argument(
        "--fhir-base",
        metavar="URL",
        help="read the patient's record from this open FHIR R4 server (no authorization)",
    )
    a.add_argument("--patient", metavar="ID", help="the Patient id on --fhir-base")
    a.add_argument(
        "--timeout", type=float, default=30.0, help="seconds per FHIR request (default 30)"
    )
    a.set_defaults(func=cmd_assess)

    r = sub.add_parser("rules", help="print every threshold, dose, code and rule with its source")
    r.set_defaults(func=cmd_rules)

    s = sub.add_parser("serve", help="run the CDS Hooks service and the SMART app (gunicorn)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=5000)
    s.add_argument("--workers", type=int, default=2)
    s.set_defaults(func=cmd_serve)

    f = sub.add_parser("feedback-report", help="acceptance and override rates per service and card")
    f.add_argument("--database-url", help="SQLAlchemy URL (default: the configured store)")
    f.add_argument("--format", choices=("text", "json"), default="text")
    f.set_defaults(func=cmd_feedback_report)

    db = sub.add_parser("db", help="the shared store's schema (versioned migrations)")
    db.add_argument(
        "action",
        choices=("upgrade", "current"),
        help="upgrade: apply every migration not yet applied; current: print the revision",
    )
    db.add_argument("--database-url", help="SQLAlchemy URL (default: the configured store)")
    db.set_defaults(func=cmd_db)

    d = sub.add_parser(
        "demo",
        help="start a local FHIR server with demo patients, the service, the app and a demo EHR",
        description="Start the whole demo on loopback: a FHIR server loaded with the demo "
        "patients, the demo EHR (with its SMART authorization server and FHIR gateway), and the "
        "CDS Hooks service and SMART app under gunicorn. Prints every URL; Ctrl-C stops it all. "
        "Needs the source checkout (demo/) and the demo extra (sekmet-fhir).",
    )
    d.add_argument(
        "--host", default="127.0.0.1", help="address every server listens on (loopback only)"
    )
    d.add_argument(
        "--port",
        type=int,
        default=8080,
        help="the demo EHR: patient list, SMART authorization server (/auth/...) and FHIR "
        "gateway (/fhir), the URL to open (default 8080)",
    )
    d.add_argument(
        "--fhir-port",
        type=int,
        default=8081,
        help="the FHIR server holding the demo patients (sekmet), behind the gateway "
        "(default 8081)",
    )
    d.add_argument(
        "--app-port",
        type=int,
        default=None,
        help="the CDS Hooks service and SMART app (immunotox serve) (default: --port + 2, or a "
        "free port if that one is taken)",
    )
    d.add_argument(
        "--workers", type=int, default=2, help="gunicorn worker processes of the app (default 2)"
    )
    d.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    from immunotox.store import StoreError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UsageError as e:
        print(f"immunotox: {e}", file=sys.stderr)
        return 2
    except StoreError as e:
        print(f"immunotox: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
