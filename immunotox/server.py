"""Run the app under gunicorn (a production WSGI server) with several worker processes."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from typing import Any

from gunicorn import glogging
from gunicorn.app.base import BaseApplication
from gunicorn.config import Config
from gunicorn.workers.gthread import ThreadWorker

from immunotox import arrival


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict[str, Any], factory: Callable[[], Any] | None = None):
        self.options = options
        self.factory = factory
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):  # type: ignore[override]
        if self.factory is not None:
            return self.factory()
        from immunotox.app import create_app

        return create_app()


class _Logger(glogging.Logger):
    """gunicorn's own log lines in the service's format (text or JSON, with a request id)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        from immunotox import config as config_mod
        from immunotox import logs

        json_lines = str(config_mod.load().get("LOG_FORMAT", "text")).lower() == "json"
        for handler in self.error_log.handlers:
            handler.setFormatter(
                logs.JsonFormatter() if json_lines else logging.Formatter(logs.TEXT_FORMAT)
            )
            handler.addFilter(logs.RequestIdFilter())


class StampingThreadWorker(ThreadWorker):
    """gunicorn's threaded worker, unchanged but for one thing: it notes when each request
    was queued for a thread (`immunotox.arrival`), so the hook deadline runs from arrival, not
    from the moment a thread took the request."""

    def enqueue_req(self, conn: Any) -> None:
        conn.immunotox_queued_at = time.monotonic()
        super().enqueue_req(conn)

    def handle_request(self, req: Any, conn: Any) -> Any:
        arrival.set_queued_at(getattr(conn, "immunotox_queued_at", None))
        try:
            return super().handle_request(req, conn)
        finally:
            arrival.set_queued_at(None)


def serve(
    host: str = "127.0.0.1",
    port: int = 5000,
    workers: int = 2,
    factory: Callable[[], Any] | None = None,
    **extra: Any,
) -> int:
    """Serve `factory()` (default: the product's `create_app`) under gunicorn."""
    from immunotox import config as config_mod
    from immunotox import logs

    cfg = config_mod.load()
    logs.configure(cfg.get("LOG_FORMAT", "text"))
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": StampingThreadWorker,  # gthread, noting when a request was queued
        "threads": 4,
        "timeout": 30,
        "graceful_timeout": 5,
        "accesslog": None,  # the app logs one line a request, without identifiers
        "preload_app": False,
        "post_worker_init": _freeze_startup_objects,
        "logger_class": _Logger,
        # X-Forwarded-Proto (and -For) are believed from these addresses only: the reverse proxy
        "forwarded_allow_ips": cfg.get("FORWARDED_ALLOW_IPS") or "127.0.0.1,::1",
        **extra,
    }
    if "control_socket_disable" in Config().settings and "control_socket_disable" not in extra:
        # gunicorn >= 25.1's control socket defaults to one path per user
        # ($HOME/.gunicorn/gunicorn.ctl), shared by every instance on the host: off (nothing
        # here uses gunicornc). Older gunicorn has no such socket (nor the setting).
        options["control_socket_disable"] = True
    _create_schema()
    _Gunicorn(options, factory).run()
    return 0


def _freeze_startup_objects(_worker: Any) -> None:
    """Move everything the worker built at start-up (the app, code tables, unit registry, the
    FHIR model classes) out of the cyclic garbage collector's reach: a full collection then
    scans only what requests created. Measured in-process with 1,000 observations: collector
    time per patient-view call 5.0 ms -> 1.1 ms, p99 52 -> 32 ms (`bench/`)."""
    gc.collect()
    gc.freeze()


def _create_schema() -> None:
    """Create the store's tables once, in the master, before any worker forks: workers that
    boot together (or one restarted while others write) then only find them there."""
    import cds_hooks.feedback  # noqa: F401 - its tables join the store's metadata
    from immunotox import config as config_mod
    from immunotox.store import Store

    Store(config_mod.load()["DATABASE_URL"]).engine.dispose()
