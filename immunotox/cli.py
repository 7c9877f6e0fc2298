"""`immunotox` command line: assess, serve, feedback-report, demo."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path


def _parse_at(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    from services.timeutil import parse_instant

    t = parse_instant(raw)
    if t is None:
        raise SystemExit(f"immunotox: --at {raw!r} is not an ISO 8601 date-time")
    return t


def cmd_assess(args: argparse.Namespace) -> int:
    from services.assess import InputError, assess_bundle
    from services.render import render_text

    path = Path(args.bundle)
    try:
        raw = path.read_text(encoding="utf-8") if args.bundle != "-" else sys.stdin.read()
    except OSError as e:
        print(f"immunotox: cannot read {args.bundle}: {e.strerror}", file=sys.stderr)
        return 2
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as e:
        print(
            f"immunotox: {args.bundle} is not JSON (line {e.lineno}, column {e.colno}: {e.msg})",
            file=sys.stderr,
        )
        return 2
    import os

    from services.assess import primary_system

    try:
        primary = primary_system(args.crs_primary or os.environ.get("IMMUNOTOX_CRS_PRIMARY"))
    except ValueError as e:
        print(f"immunotox: {e}", file=sys.stderr)
        return 2
    try:
        assessment = assess_bundle(doc, at=_parse_at(args.at), crs_primary=primary)
    except InputError as e:
        print(f"immunotox: {e}", file=sys.stderr)
        return 2
    if args.format == "json":
        json.dump(assessment.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_text(assessment))
    return 0


def cmd_rules(args: argparse.Namespace) -> int:
    from services.knowledge.document import render

    sys.stdout.write(render())
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from immunotox.server import serve

    return serve(host=args.host, port=args.port, workers=args.workers)


def cmd_feedback_report(args: argparse.Namespace) -> int:
    from cds_hooks.feedback import report_main

    return report_main(args)


def cmd_demo(args: argparse.Namespace) -> int:
    from demo.runner import main as demo_main

    return demo_main(args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="immunotox", description="Immunotherapy toxicity decision support"
    )
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser("assess", help="assess one patient's FHIR resources (a Bundle)")
    a.add_argument("bundle", help="path to a FHIR R4 Bundle (JSON), or - for standard input")
    a.add_argument("--at", help="assessment time, ISO 8601 (default: now)")
    a.add_argument("--format", choices=("json", "text"), default="text")
    a.add_argument(
        "--crs-primary",
        help="CRS system driving the plan: astct2019 (default), lee2014, ctcae5 "
        "(default from IMMUNOTOX_CRS_PRIMARY)",
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

    d = sub.add_parser(
        "demo",
        help="start a local FHIR server with demo patients, the service, the app and a demo EHR",
    )
    d.add_argument("--host", default="127.0.0.1")
    d.add_argument("--port", type=int, default=8080)
    d.add_argument("--fhir-port", type=int, default=8081)
    d.add_argument("--workers", type=int, default=2)
    d.set_defaults(func=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
