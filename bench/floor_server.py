"""The benchmark's server: the product's app under the product's gunicorn settings, plus
`POST /cds-services/_floor`, a do-nothing endpoint that authorizes, admits, reads and parses the
body exactly as a hook call does and answers no cards. The latency of a hook call against this
floor is what the service itself adds. The route lives here, never in the product.

    python -m bench.floor_server serve --host 127.0.0.1 --port 5000 --workers 2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask import Flask, Response, request

FLOOR = "/cds-services/_floor"


def create_floor_app() -> Flask:
    # The blueprint's own request helpers, so the floor pays what a hook call pays up to the
    # assessment: client authorization, reading the body (counted as it arrives), admission by
    # its weight, parsing.
    from cds_hooks.blueprint import (
        BYTES_PER_CONTAINER,
        _authorize,
        _containers,
        _json,
        _parse,
        _read_body,
    )
    from immunotox.app import create_app

    app = create_app()
    budget = app.extensions["immunotox.cds_hooks"].budget

    def floor_view() -> Response:
        if request.method == "OPTIONS":
            return Response(status=204)
        denied = _authorize()
        if denied:
            return denied
        raw, error = _read_body(budget)
        if error or raw is None:
            return error
        containers = _containers(raw)
        with budget.admit(max(len(raw), containers * BYTES_PER_CONTAINER)):
            _body, error = _parse(raw, containers)
            return error or _json(200, {"cards": []})

    # A rule without converters wins over the blueprint's `/cds-services/<service_id>`.
    app.add_url_rule(FLOOR, "bench_floor", floor_view, methods=["POST", "OPTIONS"])
    return app


def main(argv: list[str] | None = None) -> int:
    from immunotox.server import serve

    p = argparse.ArgumentParser(prog="bench.floor_server")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=5000)
    s.add_argument("--workers", type=int, default=2)
    args = p.parse_args(argv)
    return serve(host=args.host, port=args.port, workers=args.workers, factory=create_floor_app)


if __name__ == "__main__":
    raise SystemExit(main())
