#!/usr/bin/env bash
# Screenshots of a run's report with headless Chromium (Debian's `chromium` package):
#   docs/take_screenshots.sh results/quick docs
# writes <out>/report_landing.png (the report's landing page) and <out>/report_table.png (the
# robustness table page of the first dataset, as the report shows it inline).
set -euo pipefail
run=${1:?results/<run>}; out=${2:-docs}
mkdir -p "$out"
shot() {  # url, png, width, height
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$(mktemp -d)" --window-size="$3,$4" --virtual-time-budget=8000 \
    --screenshot="$2" "$1" 2>/dev/null
}
shot "file://$(realpath "$run/report.html")" "$out/report_landing.png" 1400 1000
table=$(ls "$run"/tables/robustness_*.html | head -1)
shot "file://$(realpath "$table")" "$out/report_table.png" 1300 600
ls -la "$out"/report_*.png
