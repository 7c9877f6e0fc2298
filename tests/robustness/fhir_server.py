"""A tiny threaded FHIR server on 127.0.0.1 that misbehaves on request, for the fault tests.

The first path segment picks the behaviour; a trailing "s" (e.g. /e500s) misbehaves on searches
only and serves the Patient, so the hook can still answer with a (degraded) card:

    ok        Patient and empty search Bundles          e500[s]   HTTP 500
    e401[s]   HTTP 401                                   badjson[s] malformed JSON
    slow[s]   sleeps past every timeout                  trickle[s] one byte at a time, forever
    endless   a `next` page chain with no end            endlessslow  the same, 50 ms a page
    redirect  302 to another server                      nextout   a `next` link to another server
    gzip      as ok, compressed (Content-Encoding gzip)  deflate   the same, deflate
    dotdot    a `next` link `<base>/dotdot/../admin/...` (and `%2e%2e`), leaving the base's path

Every request is recorded (path and Authorization header, and the client port). Sleeps and trickles stop when the
server stops, so nothing outlives the fixture.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client hanging up on a slow or trickling answer is the point of these tests, not
        an error: no traceback on stderr."""


class FaultServer:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str | None]] = []
        self.peers: list[tuple[str, int]] = []  # (path, client port): one port per connection
        self.stop = threading.Event()
        self.elsewhere = "http://127.0.0.1:9"  # where redirect and nextout point
        self.compressed_entries = 3  # Observations in each compressed search answer
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                owner.requests.append((self.path, self.headers.get("Authorization")))
                owner.peers.append((self.path, self.client_address[1]))
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    owner.handle(self)

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FaultServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    # -- answers --------------------------------------------------------------------------
    def _send(self, h: BaseHTTPRequestHandler, status: int, body: bytes, **headers: str) -> None:
        h.send_response(status)
        h.send_header("Content-Type", "application/fhir+json")
        h.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)

    def _json(self, h: BaseHTTPRequestHandler, doc: Any, status: int = 200) -> None:
        self._send(h, status, json.dumps(doc).encode())

    def _compressed(
        self, h: BaseHTTPRequestHandler, mode: str, is_patient: bool, rest: list[str]
    ) -> None:
        if is_patient:
            doc: Any = {"resourceType": "Patient", "id": rest[1], "birthDate": "1960-01-01"}
        else:
            doc = {
                "resourceType": "Bundle",
                "type": "searchset",
                "entry": [
                    {
                        "resource": {
                            "resourceType": "Observation",
                            "id": f"t{i}",
                            "status": "final",
                            "code": {"coding": [{"system": "http://loinc.org", "code": "8310-5"}]},
                            "effectiveDateTime": "2024-01-01T00:00:00Z",
                            "valueQuantity": {"value": 37.0, "unit": "Cel"},
                        }
                    }
                    for i in range(self.compressed_entries)
                ],
            }
        raw = json.dumps(doc).encode()
        body = gzip.compress(raw) if mode == "gzip" else zlib.compress(raw)
        self._send(h, 200, body, **{"Content-Encoding": mode})

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        parts = url.path.strip("/").split("/")
        mode, rest = parts[0], parts[1:]
        is_patient = bool(rest) and rest[0] == "Patient"
        if mode.endswith("s") and mode[:-1] in _MODES:  # misbehave on searches only
            mode = "ok" if is_patient else mode[:-1]
        if mode in ("gzip", "deflate"):
            self._compressed(h, mode, is_patient, rest)
        elif mode == "ok" or (
            is_patient and mode in ("endless", "endlessslow", "nextout", "dotdot")
        ):
            if is_patient:
                pid = rest[1] if len(rest) > 1 else "?"
                self._json(h, {"resourceType": "Patient", "id": pid, "birthDate": "1960-01-01"})
            else:
                self._json(h, {"resourceType": "Bundle", "type": "searchset", "entry": []})
        elif mode == "e500":
            self._json(h, {"resourceType": "OperationOutcome"}, status=500)
        elif mode == "e401":
            self._send(h, 401, b"", **{"WWW-Authenticate": "Bearer"})
        elif mode == "badjson":
            self._send(h, 200, b'{"resourceType": "Bundle", "entry": [')
        elif mode == "slow":
            self.stop.wait(10)
            self._json(h, {"resourceType": "Bundle", "type": "searchset", "entry": []})
        elif mode == "trickle":
            h.send_response(200)
            h.send_header("Content-Type", "application/fhir+json")
            h.send_header("Content-Length", "1000000")
            h.end_headers()
            h.wfile.write(b'{"resourceType": "Bundle", "entry": [')
            h.wfile.flush()
            while not self.stop.wait(0.1):
                h.wfile.write(b" ")
                h.wfile.flush()
        elif mode in ("endless", "endlessslow"):
            if mode == "endlessslow":
                time.sleep(0.05)
            page = int(parse_qs(url.query).get("page", ["0"])[0])
            nxt = f"{self.base}/{parts[0]}/{'/'.join(rest)}?page={page + 1}"
            self._json(
                h,
                {
                    "resourceType": "Bundle",
                    "type": "searchset",
                    "link": [{"relation": "next", "url": nxt}],
                    "entry": [{"resource": {"resourceType": "Basic", "id": f"b{page}"}}],
                },
            )
        elif mode == "redirect":
            self._send(h, 302, b"", Location=f"{self.elsewhere}{h.path}")
        elif mode == "dotdot":
            encoded = "%2e%2e" if "encoded" in url.query else ".."
            self._json(
                h,
                {
                    "resourceType": "Bundle",
                    "type": "searchset",
                    "link": [{"relation": "next", "url": f"{self.base}/dotdot/{encoded}/admin/x"}],
                    "entry": [],
                },
            )
        elif mode == "nextout":
            self._json(
                h,
                {
                    "resourceType": "Bundle",
                    "type": "searchset",
                    "link": [{"relation": "next", "url": f"{self.elsewhere}/ok/Observation"}],
                    "entry": [],
                },
            )
        else:
            self._json(h, {"resourceType": "OperationOutcome"}, status=404)


_MODES = {"ok", "e500", "e401", "badjson", "slow", "trickle"}
