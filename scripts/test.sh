#!/usr/bin/env bash
# The whole test suite: lint, format check, import contracts, then pytest (unit, integration, e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports --no-cache   # layers import one way (pyproject.toml, docs/architecture.md)
exec .venv/bin/python -m pytest "$@"
