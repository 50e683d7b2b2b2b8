#!/usr/bin/env bash
# Opens SCAN_DIR/report/index.html in headless Chromium (Debian's chromium package) and fails if the
# page shows a script error, never becomes ready, or lacks its charts or domain table; then writes a
# screenshot. Usage: check_report_page.sh SCAN_DIR [SCREENSHOT.png]
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
bars="$(grep -o '<rect class="bar"' <<<"$dom" | wc -l)"
rows="$(grep -o '<tr class="g' <<<"$dom" | wc -l)"
[ "$bars" -gt 0 ] || fail "no chart bars"
[ "$rows" -gt 0 ] || fail "no domain rows"
grep -q 'id="tls-chart"' <<<"$dom" || fail "no TLS version chart"
grep -q 'id="cert-chart"' <<<"$dom" || fail "no certificate verdict chart"
"$browser" "${flags[@]}" --window-size=1100,1500 --hide-scrollbars --screenshot="$shot" "file://$page" >/dev/null 2>&1
[ -s "$shot" ] || fail "no screenshot"
echo "report page OK: $bars chart bars, $rows domain rows, screenshot $shot"
