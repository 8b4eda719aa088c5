#!/usr/bin/env bash
# Screenshots of a run's report at a laptop's screen size, 1366×768, with headless Chromium
# (Debian's `chromium` package), as a reader first sees each page (no scrolling):
#   docs/take_screenshots.sh results/quick docs
# writes into <out>/:
#   report_landing.png   the report's landing page (report.html): the verdict card must be whole
#   report_summary.png   the summary page (summary.html: the report's "1 Summary" entry)
#   report_claims.png    the claim-verdict page (tables/claims.html, as the report shows it)
#   report_masking.png   the gradient-masking table of the first dataset (tables/masking_*.html)
#   report_sn_gap.png    the SN gap figure of the first dataset (figures/sn_gap_*.png)
# The table pages are the HTML the report embeds (each is shown inline, as a page of its own).
set -euo pipefail
run=${1:?results/<run>}; out=${2:-docs}
W=1366; H=768
mkdir -p "$out"
shot() {  # url, png
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --hide-scrollbars \
    --user-data-dir="$(mktemp -d)" --window-size="$W,$H" --virtual-time-budget=8000 \
    --screenshot="$2" "$1" 2>/dev/null
}
url() { echo "file://$(realpath "$1")"; }
shot "$(url "$run/report.html")" "$out/report_landing.png"
shot "$(url "$run/summary.html")" "$out/report_summary.png"
shot "$(url "$run/tables/claims.html")" "$out/report_claims.png"
shot "$(url "$(ls "$run"/tables/masking_*.html | head -1)")" "$out/report_masking.png"
shot "$(url "$(ls "$run"/figures/sn_gap_*.png | head -1)")" "$out/report_sn_gap.png"
rm -f "$out/report_clean.png"   # an older shot this script no longer takes
ls -la "$out"/report_*.png
