"""Run the app under gunicorn (a production WSGI server) with several worker processes."""

from __future__ import annotations

import logging
from typing import Any

from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict[str, Any]):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):  # type: ignore[override]
        from immunotox.app import create_app

        return create_app()


def serve(host: str = "127.0.0.1", port: int = 5000, workers: int = 2, **extra: Any) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": 4,
        "timeout": 30,
        "graceful_timeout": 5,
        "accesslog": None,  # the app logs one line a request, without identifiers
        "preload_app": False,
        **extra,
    }
    _create_schema()
    _Gunicorn(options).run()
    return 0


def _create_schema() -> None:
    """Create the store's tables once, in the master, before any worker forks: workers that
    boot together (or one restarted while others write) then only find them there."""
    import cds_hooks.feedback  # noqa: F401 - its tables join the store's metadata
    from immunotox import config as config_mod
    from immunotox.store import Store

    Store(config_mod.load()["DATABASE_URL"]).engine.dispose()
