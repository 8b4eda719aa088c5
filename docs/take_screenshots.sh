#!/usr/bin/env bash
# Screenshots of a run's report with headless Chromium (Debian's `chromium` package):
#   docs/take_screenshots.sh results/quick docs
# writes into <out>/:
#   report_landing.png   the report's landing page (verdict totals, regime lines, what the run was)
#   report_summary.png   the summary page (summary.html: the report's "1 Summary" entry)
#   report_claims.png    the claim-verdict page (tables/claims.html, as the report shows it inline)
#   report_clean.png     the clean-accuracy table of the first dataset (tables/clean_accuracy_*.html)
#   report_sn_gap.png    the SN gap figure of the first dataset (figures/sn_gap_*.png)
# The table pages are the HTML the report embeds (each is shown inline, as a page of its own).
set -euo pipefail
run=${1:?results/<run>}; out=${2:-docs}
mkdir -p "$out"
shot() {  # url, png, width, height
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$(mktemp -d)" --window-size="$3,$4" --virtual-time-budget=8000 \
    --screenshot="$2" "$1" 2>/dev/null
}
url() { echo "file://$(realpath "$1")"; }
shot "$(url "$run/report.html")" "$out/report_landing.png" 1400 1600   # tall enough that the page is not scrolled: its first line (the verdict totals) shows
shot "$(url "$run/summary.html")" "$out/report_summary.png" 1400 1400
shot "$(url "$run/tables/claims.html")" "$out/report_claims.png" 1400 1200
shot "$(url "$(ls "$run"/tables/clean_accuracy_*.html | head -1)")" "$out/report_clean.png" 1300 700
shot "$(url "$(ls "$run"/figures/sn_gap_*.png | head -1)")" "$out/report_sn_gap.png" 1300 900
ls -la "$out"/report_*.png
