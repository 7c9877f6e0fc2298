#!/usr/bin/env bash
# One command for the whole demo: install (first run only), then start the local FHIR server
# with the demo patients, the CDS service and SMART app, and the demo EHR. Ctrl-C stops it.
# Arguments go to `immunotox demo` (e.g. --port 8080 --fhir-port 8081).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/immunotox demo "$@"
