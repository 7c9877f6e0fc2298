#!/usr/bin/env bash
# Download the FHIR R4 example resources (npm package hl7.fhir.r4.examples@4.0.1) into
# test-output/fhir-examples/ and unpack them. `npm pack` only fetches the tarball: no package
# script and no Node code runs. Skips the download when the folder is already there.
#
#   bash scripts/fetch-fhir-examples.sh [DEST]
set -euo pipefail

PKG="hl7.fhir.r4.examples@4.0.1"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${1:-$ROOT/test-output/fhir-examples}"
MARKER="$DEST/.complete"

if [[ -f "$MARKER" ]]; then
  echo "fetch-fhir-examples: $DEST already there ($(cat "$MARKER") files)"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "fetch-fhir-examples: npm is not installed; cannot download $PKG" >&2
  exit 3
fi

mkdir -p "$DEST"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/fhir-examples.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

echo "fetch-fhir-examples: npm pack $PKG"
# --ignore-scripts: belt and braces, pack runs no lifecycle script of a registry package anyway.
( cd "$TMP" && timeout 300 npm pack "$PKG" --ignore-scripts --silent >/dev/null )
TARBALL="$(ls "$TMP"/*.tgz | head -n 1)"
tar -xzf "$TARBALL" -C "$TMP"
rm -rf "$DEST/package"
mv "$TMP/package" "$DEST/package"
COUNT="$(find "$DEST/package" -name '*.json' -type f | wc -l)"
echo "$COUNT" >"$MARKER"
echo "fetch-fhir-examples: $COUNT JSON files in $DEST/package"
