#!/usr/bin/env bash
# bench/soak.sh — issue 7 item 10: a bounded soak (not CI). Several minutes of steady mixed traffic
# through authscope (intercepting and recording, --quiet): keep-alive clients and new-connection
# clients at once, with authscope's RSS sampled every few seconds. Memory must stay flat: the
# script compares the median RSS of the first and the last fifth of the samples (after a warm-up
# of a quarter of the run)
# and fails if the last is more than SOAK_GROWTH_PCT (default 10) % above the first. After SIGINT
# every completed request must be in the store.
# Knobs: BUILD (default build/), SOAK_SECONDS=300, SAMPLE_EVERY=5, SOAK_GROWTH_PCT=10, SKIP_BUILD=1.
# Output: bench/out/soak-<stamp>.md and .csv, summary on stdout.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
SOAK_SECONDS=${SOAK_SECONDS:-300}
SAMPLE_EVERY=${SAMPLE_EVERY:-5}
SOAK_GROWTH_PCT=${SOAK_GROWTH_PCT:-10}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUTDIR=$ROOT/bench/out
PY=/usr/bin/python3
log() { echo "soak: $*" >&2; }
die() { log "$*"; exit 1; }

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  [ -f "$BUILD/CMakeCache.txt" ] || cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null || die "configure failed"
  cmake --build "$BUILD" -j "$(nproc)" --target authscope loadgen >/dev/null || die "build failed"
fi
[ "$SOAK_SECONDS" -ge 30 ] && [ "$SOAK_SECONDS" -le 3600 ] || die "SOAK_SECONDS must be 30..3600"
mkdir -p "$OUTDIR"
WORK=$(mktemp -d /tmp/authscope-soak.XXXXXX)
STARTED=()
cleanup() {
  for pid in "${STARTED[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null; done
  "$ROOT/bench/nginx_upstream.sh" stop "$WORK/nginx" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

NGX_PORT=$($PY -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
"$ROOT/bench/nginx_upstream.sh" start "$WORK/nginx" "$NGX_PORT" || die "nginx failed"
export AUTHSCOPE_HOME=$WORK/home
mkdir -p "$AUTHSCOPE_HOME"
"$BUILD/authscope" ca >/dev/null || die "authscope ca failed"
"$BUILD/authscope" proxy --listen 127.0.0.1:0 --ready-file "$WORK/ready" --quiet \
  --resolve "login.microsoftonline.com:443=127.0.0.1:$NGX_PORT" --resolve "management.azure.com:443=127.0.0.1:$NGX_PORT" \
  --upstream-ca "$WORK/nginx/ca.pem" >"$WORK/proxy.log" 2>&1 &
PID=$!
STARTED+=("$PID")
for _ in $(seq 100); do [ -s "$WORK/ready" ] && break; sleep 0.1; done
[ -s "$WORK/ready" ] || die "authscope did not start: $(cat "$WORK/proxy.log")"
ADDR=$(cat "$WORK/ready")

# Steady mixed traffic: 4 keep-alive clients and 2 new-connection-per-request clients.
"$BUILD/loadgen" --proxy "$ADDR" --ca "$AUTHSCOPE_HOME/ca.pem" -c 4 --keepalive on -d "$SOAK_SECONDS" >"$WORK/ka.json" 2>/dev/null &
LG1=$!
STARTED+=("$LG1")
"$BUILD/loadgen" --proxy "$ADDR" --ca "$AUTHSCOPE_HOME/ca.pem" -c 2 --keepalive off -d "$SOAK_SECONDS" >"$WORK/nc.json" 2>/dev/null &
LG2=$!
STARTED+=("$LG2")

CSV=$OUTDIR/soak-$STAMP.csv
echo "seconds,rss_kb,fds" >"$CSV"
start=$(date +%s)
log "authscope pid $PID on $ADDR; sampling RSS every ${SAMPLE_EVERY}s for ${SOAK_SECONDS}s"
while kill -0 "$LG1" 2>/dev/null || kill -0 "$LG2" 2>/dev/null; do
  now=$(date +%s)
  [ $((now - start)) -gt $((SOAK_SECONDS + 60)) ] && { log "loadgen overran its bound"; break; }
  echo "$((now - start)),$(rss_kb "$PID"),$(ls "/proc/$PID/fd" 2>/dev/null | wc -l)" >>"$CSV"
  sleep "$SAMPLE_EVERY"
done
wait "$LG1" 2>/dev/null
wait "$LG2" 2>/dev/null
sleep 2
echo "$(($(date +%s) - start)),$(rss_kb "$PID"),$(ls "/proc/$PID/fd" 2>/dev/null | wc -l)" >>"$CSV"
kill -INT "$PID"
for _ in $(seq 600); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$PID" 2>/dev/null && { log "authscope did not exit in 60 s: SIGKILL"; kill -9 "$PID"; }
wait "$PID" 2>/dev/null
STORED=$(sqlite3 "$AUTHSCOPE_HOME/flows.db" "SELECT count(*) FROM flows WHERE kind='http'" 2>/dev/null || echo -1)

$PY - "$CSV" "$WORK/ka.json" "$WORK/nc.json" "$STORED" "$SOAK_GROWTH_PCT" "$SOAK_SECONDS" >"$OUTDIR/soak-$STAMP.md" <<'PY'
import csv, json, statistics, sys
path, ka, nc, stored, growth_pct, secs = sys.argv[1:]
rows = [(int(r["seconds"]), int(r["rss_kb"]), int(r["fds"])) for r in csv.DictReader(open(path))]
a = json.load(open(ka)); b = json.load(open(nc))
reqs = a["requests"] + b["requests"]; errs = a["errors"] + b["errors"]
# Warm-up: the first quarter of the run (at least 15 s), while the SQLite page cache and the
# allocator's arenas fill to their working size; flat means no growth after that.
warm = max(15, int(secs) // 4)
load = [r for r in rows[:-1] if r[0] >= warm] or rows
k = max(1, len(load) // 5)
first = statistics.median(r[1] for r in load[:k]); last = statistics.median(r[1] for r in load[-k:])
growth = (last - first) * 100.0 / first
flat = growth <= float(growth_pct)
ok = flat and errs == 0 and int(stored) == reqs
print(f"# Soak ({secs} s, 4 keep-alive + 2 new-connection clients, intercepting and recording)\n")
print(f"- requests {reqs} ({a['req_per_s'] + b['req_per_s']:.0f} req/s), errors {errs}, stored {stored}")
print(f"- RSS after warm-up: first fifth median {first/1024:.1f} MB, last fifth median {last/1024:.1f} MB "
      f"(growth {growth:+.1f} %), min {min(r[1] for r in load)/1024:.1f} MB, max {max(r[1] for r in load)/1024:.1f} MB; "
      f"after the load {rows[-1][1]/1024:.1f} MB, fds {rows[-1][2]}")
print(f"- memory flat (≤ {growth_pct} % growth): {'yes' if flat else 'NO'}; every flow stored: {'yes' if int(stored) == reqs else 'NO'}")
print(f"- verdict: {'PASS' if ok else 'FAIL'}\n")
print("| s | RSS MB | fds |\n|---|---|---|")
for s, r, f in rows:
    print(f"| {s} | {r/1024:.1f} | {f} |")
sys.exit(0 if ok else 1)
PY
rc=$?
head -6 "$OUTDIR/soak-$STAMP.md"
log "report: $OUTDIR/soak-$STAMP.md"
exit $rc
