"""The Flask app factory: the CDS Hooks service, the SMART launch and the assessment app.

Nothing is built at import time; `create_app()` reads configuration and registers blueprints.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from immunotox import config as config_mod
from immunotox import store as store_mod
from immunotox.admission import ByteBudget
from immunotox.crypto import RecordCipher, token_keys
from immunotox.fhir_client import ServerSlots
from immunotox.http_errors import store_unavailable

log = logging.getLogger("immunotox")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    cfg = config_mod.load(config)
    # HTTP client libraries log request URLs (which hold patient ids) at DEBUG: never let them.
    for noisy in ("urllib3", "requests"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    app = Flask(__name__, instance_path=None)
    app.config.update(cfg)
    app.config["MAX_CONTENT_LENGTH"] = cfg["MAX_CONTENT_LENGTH"]
    st = store_mod.init_app(app, cfg["DATABASE_URL"])
    st.check_writable()  # a full or read-only store stops the start, not every request
    app.extensions["immunotox.cipher"] = RecordCipher(token_keys(cfg))
    # per worker process: the request-body and fetched-answer byte budget (admission), and the
    # calls in flight per FHIR server, for hooks and for app pages
    app.extensions["immunotox.budget"] = ByteBudget(
        int(cfg.get("WORKER_BODY_BUDGET") or 8 * 1024 * 1024)
    )
    per_server = int(cfg.get("FHIR_CALLS_PER_SERVER") or 2)
    app.extensions["immunotox.fhir_slots"] = ServerSlots(
        per_server, slow_s=float(cfg.get("HOOK_DEADLINE_S") or 2.0) / 2
    )
    app.extensions["immunotox.app_fhir_slots"] = ServerSlots(per_server)

    from cds_hooks.blueprint import create_blueprint as cds_blueprint
    from launch.blueprint import create_blueprint as launch_blueprint
    from smart_app.blueprint import create_blueprint as app_blueprint

    app.register_blueprint(cds_blueprint(app))
    app.register_blueprint(launch_blueprint(app))
    app.register_blueprint(app_blueprint(app))
    app.register_error_handler(SQLAlchemyError, store_unavailable)
    from immunotox.health import create_blueprint as health_blueprint

    app.register_blueprint(health_blueprint())
    from immunotox import logs

    logs.init_app(app)
    return app
