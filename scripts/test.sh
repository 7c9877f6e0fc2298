#!/usr/bin/env bash
# The whole test suite: lint, format check, then pytest (unit, integration, e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"
