#!/usr/bin/env bash
# bench/run.sh — issue 6's benchmark in one command (`make bench` calls it).
#
# Builds authscope and loadgen, starts nginx as a TLS upstream on loopback, then runs INTERLEAVED
# rounds of every path for every scenario:
#   paths:     direct (loadgen -> nginx), tunnel (CONNECT byte tunnel through authscope, host not
#              intercepted), authscope (intercepting and recording, --quiet), mitmdump-w (mitmdump
#              intercepting and writing flows), mitmdump (intercepting, no -w)
#   scenarios: ka1 (keep-alive c=1), ka8 (keep-alive c=8), nc8 (new TCP+TLS connection per request, c=8)
# The client and nginx are pinned to one core and the proxy to the other (taskset). Each proxied
# run gets a fresh proxy process, so its CPU (utime+stime from /proc/PID/stat), RSS at rest and peak
# RSS under load belong to that run alone; after SIGINT the authscope store must hold exactly the
# requests loadgen completed. Then the idle test: a fresh proxy, its RSS at rest, a one-second
# warm-up (the first connections' one-time costs), its RSS again, then 500 kept-alive intercepted
# connections, one request each, held open while authscope's RSS is read twice: 1.5 s after the
# last one was answered, and once they are idle (after the proxy's upstream idle limit, 5 s, plus
# its one-second memory trim: IDLE_SETTLE seconds). Per connection = (RSS then - RSS after the
# warm-up) / 500; the figure against the cold start is printed too.
#
# Output: bench/out/<stamp>/raw.jsonl (one line per run), bench/out/<stamp>/results.md (tables,
# medians, ratios) and the summary on stdout.
# Knobs (environment): BUILD (default build/), ROUNDS=3, DURATION=8 (seconds per run), PATHS,
# SCENARIOS, IDLE=500, CLIENT_CPU=0, PROXY_CPU=1, SKIP_BUILD=1, RULES (rule pack dir for authscope).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8}
PATHS=${PATHS:-"direct tunnel authscope mitmdump-w mitmdump"}
SCENARIOS=${SCENARIOS:-"ka1 ka8 nc8"}
IDLE=${IDLE:-500}
IDLE_SETTLE=${IDLE_SETTLE:-8}
CLIENT_CPU=${CLIENT_CPU:-0}
PROXY_CPU=${PROXY_CPU:-1}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${OUT:-$ROOT/bench/out/$STAMP}
AUTHSCOPE=$BUILD/authscope
LOADGEN=$BUILD/loadgen
PY=/usr/bin/python3

log() { echo "bench: $*" >&2; }
die() { log "$*"; exit 1; }

# ---- build -------------------------------------------------------------------------------------
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null || die "cmake configure failed"
  fi
  cmake --build "$BUILD" -j "$(nproc)" --target authscope loadgen >/dev/null || die "build failed"
fi
btype=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD/CMakeCache.txt")
[ "$btype" = Release ] || log "WARNING: $BUILD is a '$btype' build; numbers of a non-Release build are not comparable"
[ -x "$AUTHSCOPE" ] && [ -x "$LOADGEN" ] || die "missing $AUTHSCOPE or $LOADGEN"
command -v nginx >/dev/null || die "nginx not installed (scripts/install-deps --bench)"
HAVE_MITM=1
command -v mitmdump >/dev/null || { HAVE_MITM=0; log "mitmdump not installed: its rows are skipped"; }

mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/authscope-bench.XXXXXX)
RAW=$OUT/raw.jsonl
: >"$RAW"
ulimit -n 8192 2>/dev/null || true

# Every process this script starts is tracked by PID and stopped on exit; nothing else is touched.
STARTED=()
cleanup() {
  for pid in "${STARTED[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
  done
  "$ROOT/bench/nginx_upstream.sh" stop "$WORK/nginx" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { $PY -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
CLK_TCK=$(getconf CLK_TCK)

# Waits (bounded) for PID to exit after a signal; SIGKILL after the bound. Returns its status.
wait_exit() {
  local pid=$1 bound=${2:-60} i
  for ((i = 0; i < bound * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "PID $pid did not exit within ${bound}s: SIGKILL"
    kill -9 "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
}

# Samples the peak RSS of PID every 0.2 s into FILE until the PID or the sampler is stopped.
peak_sampler() {
  local pid=$1 file=$2 peak=0 r
  while kill -0 "$pid" 2>/dev/null; do
    r=$(rss_kb "$pid")
    [ "${r:-0}" -gt "$peak" ] && peak=$r && echo "$peak" >"$file"
    sleep 0.2
  done
}

# ---- upstream ----------------------------------------------------------------------------------
NGX_PORT=$(free_port)
taskset -c "$CLIENT_CPU" "$ROOT/bench/nginx_upstream.sh" start "$WORK/nginx" "$NGX_PORT" || die "nginx failed"
NGX_CA=$WORK/nginx/ca.pem
RESOLVE=(--resolve "login.microsoftonline.com:443=127.0.0.1:$NGX_PORT"
         --resolve "management.azure.com:443=127.0.0.1:$NGX_PORT")
log "nginx on 127.0.0.1:$NGX_PORT (pid $(cat "$WORK/nginx/nginx.pid")); output in $OUT"

# ---- proxies -----------------------------------------------------------------------------------
PROXY_PID="" PROXY_ADDR="" PROXY_CA="" PROXY_HOME=""

start_authscope() {  # $1 = intercept|tunnel
  PROXY_HOME=$WORK/home-$RANDOM$RANDOM
  mkdir -p "$PROXY_HOME"
  AUTHSCOPE_HOME=$PROXY_HOME "$AUTHSCOPE" ca >/dev/null || die "authscope ca failed"
  local extra=()
  [ "$1" = tunnel ] && extra=(--intercept none.invalid)
  [ -n "${RULES:-}" ] && extra+=(--rules "$RULES")
  AUTHSCOPE_HOME=$PROXY_HOME taskset -c "$PROXY_CPU" "$AUTHSCOPE" proxy --listen 127.0.0.1:0 \
    --ready-file "$PROXY_HOME/ready" --quiet "${RESOLVE[@]}" --upstream-ca "$NGX_CA" "${extra[@]}" \
    >"$PROXY_HOME/proxy.log" 2>&1 &
  PROXY_PID=$!
  STARTED+=("$PROXY_PID")
  local i
  for ((i = 0; i < 100; i++)); do [ -s "$PROXY_HOME/ready" ] && break; sleep 0.1; done
  [ -s "$PROXY_HOME/ready" ] || die "authscope did not start: $(cat "$PROXY_HOME/proxy.log")"
  PROXY_ADDR=$(cat "$PROXY_HOME/ready")
  if [ "$1" = tunnel ]; then PROXY_CA=$NGX_CA; else PROXY_CA=$PROXY_HOME/ca.pem; fi
}

start_mitmdump() {  # $1 = write|nowrite
  PROXY_HOME=$WORK/mitm-$RANDOM$RANDOM
  mkdir -p "$PROXY_HOME"
  # mitmdump creates its CA on first start; reuse one confdir so every run has the same CA.
  mkdir -p "$WORK/mitm-conf"
  local port extra=()
  port=$(free_port)
  [ "$1" = write ] && extra=(-w "$PROXY_HOME/flows.mitm")
  BENCH_UPSTREAM=127.0.0.1:$NGX_PORT taskset -c "$PROXY_CPU" mitmdump -q --mode regular \
    --listen-host 127.0.0.1 --listen-port "$port" --set confdir="$WORK/mitm-conf" \
    --set ssl_verify_upstream_trusted_ca="$NGX_CA" -s "$ROOT/bench/mitm_resolve.py" "${extra[@]}" \
    >"$PROXY_HOME/proxy.log" 2>&1 &
  PROXY_PID=$!
  STARTED+=("$PROXY_PID")
  local i
  for ((i = 0; i < 150; i++)); do
    [ -s "$WORK/mitm-conf/mitmproxy-ca-cert.pem" ] && (: >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.2
  done
  PROXY_ADDR=127.0.0.1:$port
  PROXY_CA=$WORK/mitm-conf/mitmproxy-ca-cert.pem
}

scenario_args() {
  case $1 in
    ka1) echo "-c 1 --keepalive on" ;;
    ka8) echo "-c 8 --keepalive on" ;;
    nc8) echo "-c 8 --keepalive off" ;;
    *) die "unknown scenario $1" ;;
  esac
}

# Runs one (round, scenario, path) and appends its JSON line to raw.jsonl.
run_one() {
  local round=$1 scen=$2 path=$3 target=() rest=0 ticks0=0 ticks1=0 peakf="$WORK/peak" stored=-1
  # shellcheck disable=SC2207
  local sargs=($(scenario_args "$scen"))
  PROXY_PID=""
  case $path in
    direct) target=(--connect "127.0.0.1:$NGX_PORT" --ca "$NGX_CA") ;;
    tunnel) start_authscope tunnel ;;
    authscope) start_authscope intercept ;;
    mitmdump-w) start_mitmdump write ;;
    mitmdump) start_mitmdump nowrite ;;
  esac
  if [ -n "$PROXY_PID" ]; then
    target=(--proxy "$PROXY_ADDR" --ca "$PROXY_CA")
    sleep 0.3
    rest=$(rss_kb "$PROXY_PID")
    ticks0=$(cpu_ticks "$PROXY_PID")
    echo 0 >"$peakf"
    peak_sampler "$PROXY_PID" "$peakf" &
    local sampler=$!
    STARTED+=("$sampler")
  fi
  local lg
  lg=$(timeout $((DURATION + 30)) taskset -c "$CLIENT_CPU" "$LOADGEN" "${target[@]}" "${sargs[@]}" -d "$DURATION" 2>/dev/null)
  [ -n "$lg" ] || lg='{"requests":0,"errors":1,"req_per_s":0,"p50_us":0,"p99_us":0,"error_samples":["loadgen produced no output"]}'
  local lag_ms=-1
  if [ -n "$PROXY_PID" ]; then
    ticks1=$(cpu_ticks "$PROXY_PID")
    if [ "$path" = authscope ]; then
      # How far the store writer trails the traffic: the time from loadgen's last answer until
      # every flow is committed (readers see committed flows only), polled for at most 5 s.
      local want t_end now n i
      want=$(echo "$lg" | $PY -c 'import json,sys; print(json.load(sys.stdin).get("requests", 0))' 2>/dev/null || echo 0)
      t_end=$(date +%s%N)
      for ((i = 0; i < 250; i++)); do
        n=$(sqlite3 "$PROXY_HOME/flows.db" "SELECT count(*) FROM flows WHERE kind='http'" 2>/dev/null || echo -1)
        now=$(date +%s%N)
        if [ "$n" -ge "$want" ]; then lag_ms=$(((now - t_end) / 1000000)); break; fi
        [ $(((now - t_end) / 1000000)) -ge 5000 ] && { lag_ms=5000; break; }
        sleep 0.02
      done
    fi
    kill "$sampler" 2>/dev/null
    wait "$sampler" 2>/dev/null
    kill -INT "$PROXY_PID"
    wait_exit "$PROXY_PID" 60
    if [ "$path" = authscope ]; then
      stored=$(sqlite3 "$PROXY_HOME/flows.db" "SELECT count(*) FROM flows WHERE kind='http'" 2>/dev/null || echo -1)
    fi
  fi
  local peak
  peak=$(cat "$peakf" 2>/dev/null || echo 0)
  $PY - "$round" "$scen" "$path" "$rest" "$peak" "$((ticks1 - ticks0))" "$CLK_TCK" "$stored" "$lag_ms" "$lg" >>"$RAW" <<'PY'
import json, sys
round_, scen, path, rest, peak, ticks, tck, stored, lag_ms, lg = sys.argv[1:]
d = json.loads(lg)
d.update(round=int(round_), scenario=scen, path=path, rss_rest_kb=int(rest), rss_peak_kb=int(peak or 0),
         proxy_cpu_s=int(ticks) / int(tck), stored=int(stored), store_lag_ms=int(lag_ms))
d["cpu_us_per_req"] = (d["proxy_cpu_s"] * 1e6 / d["requests"]) if d.get("requests") else None
print(json.dumps(d))
PY
  tail -n1 "$RAW" | $PY -c 'import json,sys; d=json.loads(sys.stdin.read()); print("bench: round %d %-4s %-10s %8.1f req/s p50 %6d us p99 %7d us errors %d%s" % (d["round"], d["scenario"], d["path"], d["req_per_s"], d["p50_us"], d["p99_us"], d["errors"], ("  stored %d/%d, store caught up %d ms after the last answer" % (d["stored"], d["requests"], d["store_lag_ms"])) if d["stored"] >= 0 else ""), file=sys.stderr)'
  [ -n "$PROXY_PID" ] && rm -rf "$PROXY_HOME"
  return 0
}

# ---- interleaved rounds ------------------------------------------------------------------------
for ((r = 1; r <= ROUNDS; r++)); do
  for scen in $SCENARIOS; do
    for path in $PATHS; do
      case $path in mitmdump*) [ "$HAVE_MITM" = 1 ] || continue ;; esac
      run_one "$r" "$scen" "$path"
    done
  done
done

# ---- idle connections --------------------------------------------------------------------------
if [ "$IDLE" -gt 0 ]; then
  start_authscope intercept
  sleep 0.5
  rest=$(rss_kb "$PROXY_PID")
  # Warm-up: a second of traffic, its connections closed, then past the idle trim. What the
  # first connections pay once (OpenSSL's algorithm tables, the leaf certificates, the store's
  # page cache) is then in the baseline, so the difference below is what each connection costs.
  timeout 30 taskset -c "$CLIENT_CPU" "$LOADGEN" --proxy "$PROXY_ADDR" --ca "$PROXY_CA" -c 2 -d 1 \
    >"$WORK/warm.json" 2>/dev/null
  sleep 2.5
  warm=$(rss_kb "$PROXY_PID")
  idle_err=$WORK/idle.err
  taskset -c "$CLIENT_CPU" "$LOADGEN" --proxy "$PROXY_ADDR" --ca "$PROXY_CA" --idle "$IDLE" -d 60 \
    >"$WORK/idle.json" 2>"$idle_err" &
  lg_pid=$!
  STARTED+=("$lg_pid")
  for ((i = 0; i < 600; i++)); do grep -q "idle connections ready" "$idle_err" 2>/dev/null && break; sleep 0.1; done
  sleep 1.5
  held=$(rss_kb "$PROXY_PID")
  sleep "$((IDLE_SETTLE - 1))"
  settled=$(rss_kb "$PROXY_PID")
  kill -INT "$lg_pid"
  wait "$lg_pid" 2>/dev/null
  kill -INT "$PROXY_PID"
  wait_exit "$PROXY_PID" 60
  # The warm-up's flows are in the store too: "stored" below counts the idle connections' only.
  stored=$(sqlite3 "$PROXY_HOME/flows.db" "SELECT count(*) FROM flows WHERE kind='http'" 2>/dev/null || echo -1)
  $PY - "$rest" "$warm" "$held" "$settled" "$IDLE" "$IDLE_SETTLE" "$stored" "$(cat "$WORK/idle.json")" \
    "$(cat "$WORK/warm.json")" >"$OUT/idle.json" <<'PY'
import json, sys
rest, warm, held, settled, n, settle_s, stored, lg, wlg = sys.argv[1:]
d = json.loads(lg) if lg.strip() else {"requests": 0, "errors": 1}
w = json.loads(wlg) if wlg.strip() else {"requests": -1, "errors": 1}
d.update(warmup_requests=w.get("requests", -1), warmup_errors=w.get("errors", 1),
         stored=int(stored) - w.get("requests", 0), rss_rest_kb=int(rest), rss_warm_kb=int(warm), rss_busy_kb=int(held), rss_idle_kb=int(settled),
         idle=int(n), settle_s=int(settle_s), stored_total=int(stored),
         kb_per_fresh_conn=(int(held) - int(warm)) / int(n),
         kb_per_idle_conn=(int(settled) - int(warm)) / int(n),
         kb_per_idle_conn_cold=(int(settled) - int(rest)) / int(n))
print(json.dumps(d))
PY
  log "idle: $(cat "$OUT/idle.json")"
  rm -rf "$PROXY_HOME"
fi

# ---- summary -----------------------------------------------------------------------------------
{
  echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), kernel $(uname -r)"
  echo "versions: $(mitmdump --version 2>/dev/null | head -1), $(nginx -v 2>&1), $(openssl version)"
  echo "build: $BUILD ($btype); rounds $ROUNDS x ${DURATION}s; client+nginx on CPU $CLIENT_CPU, proxy on CPU $PROXY_CPU"
} >"$OUT/machine.txt"
$PY "$ROOT/bench/summarize.py" "$RAW" "$OUT/idle.json" "$OUT/machine.txt" >"$OUT/results.md"
cat "$OUT/results.md"
log "results: $OUT/results.md"
