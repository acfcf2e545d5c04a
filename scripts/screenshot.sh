#!/usr/bin/env bash
# Regenerate reports/demo/report.png: the demo report as headless Chromium renders it.
# Usage: scripts/screenshot.sh   (needs chromium; run from anywhere)
set -euo pipefail
cd "$(dirname "$0")/.."
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --window-size=1400,2400 \
  --screenshot="$PWD/reports/demo/report.png" "file://$PWD/reports/demo/report.html" 2>/dev/null
echo "wrote reports/demo/report.png"
