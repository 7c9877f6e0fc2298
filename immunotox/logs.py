"""Logging set-up: one line per record, as text (default) or JSON (`IMMUNOTOX_LOG_FORMAT=json`),
with the request id on every line a request produces.

The request id is the `X-Request-Id` the front door sent (nginx's `$request_id`, see
deploy/nginx) when it is a short token of letters, digits, `-` and `_`; otherwise a new random
one. It is echoed in the answer's `X-Request-Id`, so a clinician's failure page, the proxy's
access log and the service's log can be matched. Lines outside a request carry `-`.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, request

REQUEST_ID: ContextVar[str] = ContextVar("immunotox_request_id", default="-")
_SAFE_ID = re.compile(r"^[A-Za-z0-9_\-]{8,64}$")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", REQUEST_ID.get()),
            "message": record.getMessage(),
            "pid": record.process,
        }
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


def configure(fmt: str = "text", level: int = logging.INFO) -> None:
    """Root logging for the service: every handler gets the request id."""
    handler = logging.StreamHandler(sys.stderr)
    if str(fmt).lower() == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # "Context impl ..." at each start
    for name in ("gunicorn.error", "gunicorn.access"):  # gunicorn's own lines, same shape
        lg = logging.getLogger(name)
        for old in list(lg.handlers):
            lg.removeHandler(old)
        lg.propagate = True


def init_app(app: Flask) -> None:
    """Set the request id for each request and echo it in the answer."""

    @app.before_request
    def _set_request_id() -> None:
        given = request.headers.get("X-Request-Id", "")
        REQUEST_ID.set(given if _SAFE_ID.match(given) else secrets.token_hex(8))

    @app.after_request
    def _echo_request_id(resp: Response) -> Response:
        resp.headers["X-Request-Id"] = REQUEST_ID.get()
        return resp

    @app.teardown_request
    def _clear_request_id(_exc: BaseException | None) -> None:
        REQUEST_ID.set("-")
