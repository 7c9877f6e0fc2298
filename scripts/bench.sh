#!/usr/bin/env bash
# The performance benchmark: the CDS hooks and the SMART app against a do-nothing floor, at
# 100, 1,000 and 10,000 Observations (a few minutes on 2 cores). Prints a table and the goals,
# writes every figure to test-output/bench.json. Arguments go to bench/hooks_bench.py
# (e.g. --quick, --sizes 100,1000, --requests 50, --workers 4, --json other.json).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python bench/hooks_bench.py --json test-output/bench.json "$@"
