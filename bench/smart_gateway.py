"""The demo's SMART side, in a process of its own for the benchmark: the local authorization
server and FHIR gateway (`demo.authserver`) in front of a FHIR server, plus the demo EHR's
launch route (`GET /ehr/launch/<patient id>`), on one loopback port.

    .venv/bin/python bench/smart_gateway.py --upstream http://127.0.0.1:8081/fhir \\
        --port 8090 --app-base http://127.0.0.1:8092

The FHIR base the app sees is `http://127.0.0.1:<port>/fhir`; the app must be registered there
as client `immunotox` with redirect URI `<app-base>/smart/callback` (done here). It runs apart
from the benchmark's client threads so that the two do not share one interpreter lock.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--upstream", required=True, help="FHIR base URL of the server behind")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--app-base", required=True, help="where immunotox runs")
    args = p.parse_args(argv)

    from werkzeug.serving import make_server

    from demo.authserver import DevClient, DevSmartServer
    from demo.ehr.app import create_ehr_app

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no request lines
    app_base = args.app_base.rstrip("/")
    dev = DevSmartServer(args.upstream, f"http://127.0.0.1:{args.port}")
    dev.register_client(DevClient("immunotox", [f"{app_base}/smart/callback"]))
    server = make_server("127.0.0.1", args.port, create_ehr_app(dev, app_base), threaded=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
