#!/usr/bin/env bash
# Opens SCAN_DIR/report/index.html in headless Chromium (Debian's chromium package) and fails if the
# page shows a script error, never becomes ready, or lacks its charts or domain table, or if its own
# layout check (run by the page's script with the browser's real fonts) finds a group name cut or
# overlapping another, a metric shown without its definition, no scan date or no download links;
# then writes a screenshot. Usage: check_report_page.sh SCAN_DIR [SCREENSHOT.png] [MIN_GROUPS]
set -euo pipefail
dir="$1"
page="$(cd "$dir/report" && pwd)/index.html"
shot="${2:-$dir/report/screenshot.png}"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
browser="$(command -v chromium || command -v chromium-browser)"
# No network: the page must not need it, and background services must not try.
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --disable-extensions --user-data-dir="$profile")
dom="$("$browser" "${flags[@]}" --virtual-time-budget=5000 --dump-dom "file://$page" 2>/dev/null)"
fail() { echo "report page check FAILED: $*" >&2; exit 1; }
grep -q '<body data-ready="1"' <<<"$dom" || fail "the page's script did not finish (data-ready is not 1)"
if grep -q 'data-error=' <<<"$dom"; then fail "script error: $(grep -o 'data-error="[^"]*"' <<<"$dom")"; fi
dots="$(grep -o '<circle class="dot"' <<<"$dom" | wc -l)"
rows="$(grep -o '<tr class="g' <<<"$dom" | wc -l)"
groups="$(grep -o 'data-groups="[0-9]*"' <<<"$dom" | grep -o '[0-9]*' || echo 0)"
[ "$dots" -gt 0 ] || fail "no chart dots"
[ "$rows" -gt 0 ] || fail "no domain rows"
grep -q 'id="tls-chart"' <<<"$dom" || fail "no TLS version chart"
grep -q 'id="cert-chart"' <<<"$dom" || fail "no certificate verdict chart"
grep -q 'id="scan-date">[0-9]' <<<"$dom" || fail "no scan date"
links="$(grep -o '<a href="[a-z_]*\.\(csv\|parquet\)" download' <<<"$dom" | wc -l)"
[ "$links" -ge 5 ] || fail "only $links download links"
for f in $(grep -o '<a href="[a-z_]*\.\(csv\|parquet\)" download' <<<"$dom" | cut -d'"' -f2); do
  [ -s "$dir/report/$f" ] || fail "download link to a missing file: $f"
done
# With many groups (third argument): the table has them all (groups.csv), the chart its largest.
if [ -n "${3:-}" ]; then
  total="$(($(wc -l < "$dir/report/groups.csv") - 2))"
  [ "$total" -ge "$3" ] || fail "only $total groups, expected at least $3"
fi
"$browser" "${flags[@]}" --window-size=1100,1500 --hide-scrollbars --screenshot="$shot" "file://$page" >/dev/null 2>&1
[ -s "$shot" ] || fail "no screenshot"
echo "report page OK: $dots chart dots in $groups group rows, $rows domain rows, $links downloads, screenshot $shot"
