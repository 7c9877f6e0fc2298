#!/usr/bin/env bash
# Mutation testing (cosmic-ray): `ci` (a few minutes: the listed mutations and every number of
# the CRS and dosing tables), `full` (every scope; hours on 2 cores), `scope NAME...`, `listed`.
# What it does and the last results: docs/mutation-testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/cosmic-ray ] || bash scripts/bootstrap.sh
exec .venv/bin/python scripts/mutation.py "$@"
