"""Blueprint for smart_app (placeholder until the module is built)."""

from __future__ import annotations

from flask import Blueprint, Flask


def create_blueprint(app: Flask) -> Blueprint:
    return Blueprint("smart_app", __name__)
