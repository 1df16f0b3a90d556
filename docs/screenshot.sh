#!/usr/bin/env bash
# Rebuilds docs/report.png: the demo world's report.html, rendered by headless Chromium
# (Debian: apt-get install chromium). Run from the repository root in the project's venv.
set -euo pipefail
work=$(mktemp -d)
chmod 755 "$work"  # the demo's PostgreSQL runs as the postgres user
trap 'rm -rf "$work"' EXIT
python -m inspector demo --dir "$work/demo" --attachments 600 >/dev/null
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$work/profile" --hide-scrollbars --window-size=1280,2300 \
    --screenshot="$PWD/docs/report.png" "file://$work/demo/report/report.html" 2>/dev/null
echo "docs/report.png written"
