#!/usr/bin/env bash
# bench/scale.sh — issue 6 item 3: store and analysis at scale. Generates a store of N realistic
# flows with build/gen-store (storage's tool), then times `authscope analyze` and
# `authscope report --format html` over it (wall time and peak RSS from /usr/bin/time).
# Knobs: BUILD (default build/), FLOWS=100000, SKIP_BUILD=1. Targets: analyze ≤ 5 s, report ≤ 10 s.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
FLOWS=${FLOWS:-100000}
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cmake --build "$BUILD" -j "$(nproc)" --target authscope gen-store >/dev/null || { echo "scale: build failed" >&2; exit 1; }
fi
WORK=$(mktemp -d /tmp/authscope-scale.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export AUTHSCOPE_HOME=$WORK/home
mkdir -p "$AUTHSCOPE_HOME"
timed() {  # label, command...: prints "label: S s (CPU U user + Y sys), peak RSS M MB, exit C"
  # CPU time next to wall time: the machine may be shared, and CPU time is what the code costs.
  local label=$1; shift
  timeout 300 /usr/bin/time -f "%e %U %S %M" -o "$WORK/time" "$@" >"$WORK/$label.out" 2>"$WORK/$label.err"
  local rc=$?
  # The last line: a failing command's file starts with "Command exited with non-zero status".
  read -r secs user sys kb < <(tail -n 1 "$WORK/time" 2>/dev/null) || { secs=?; user=?; sys=?; kb=0; }
  printf '%s: %s s (CPU %s user + %s sys), peak RSS %.1f MB, exit %s\n' "$label" "$secs" "$user" "$sys" \
    "$(echo "$kb / 1024" | bc -l)" "$rc"
}
timed gen-store "$BUILD/gen-store" --db "$WORK/flows.db" -n "$FLOWS"
echo "store: $FLOWS flows, $(du -m "$WORK/flows.db" | cut -f1) MB"
timed analyze "$BUILD/authscope" analyze --db "$WORK/flows.db" --format json
timed report-html "$BUILD/authscope" report --db "$WORK/flows.db" --format html -o "$WORK/report.html"
[ -s "$WORK/report.html" ] && echo "report.html: $(du -k "$WORK/report.html" | cut -f1) KB"
for f in analyze report-html; do
  [ -s "$WORK/$f.err" ] && { echo "$f stderr:"; head -5 "$WORK/$f.err"; }
done
