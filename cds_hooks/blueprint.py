"""Blueprint for cds_hooks (placeholder until the module is built)."""

from __future__ import annotations

from flask import Blueprint, Flask


def create_blueprint(app: Flask) -> Blueprint:
    return Blueprint("cds_hooks", __name__)
