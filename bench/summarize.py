#!/usr/bin/python3
"""Turns bench/run.sh's raw.jsonl (one line per run) into the markdown results: per scenario a
table of every path (median of the rounds), the per-round ratios of authscope to direct and to
mitmdump with their medians, and the issue 6 targets with met / NOT MET.
Usage: summarize.py RAW.jsonl [IDLE.json] [MACHINE.txt]"""
import json
import statistics
import sys

SCEN_NAMES = {"ka1": "keep-alive c=1", "ka8": "keep-alive c=8", "nc8": "new connection per request c=8"}
PATH_ORDER = ["direct", "tunnel", "authscope", "mitmdump", "mitmdump-w"]
PATH_NAMES = {"direct": "direct to nginx", "tunnel": "authscope CONNECT byte tunnel",
              "authscope": "authscope intercepting + recording (--quiet)",
              "mitmdump": "mitmdump intercepting", "mitmdump-w": "mitmdump intercepting + writing (-w)"}


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, spec="{:.0f}"):
    return "–" if x is None else spec.format(x)


def main():
    runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    idle = None
    if len(sys.argv) > 2:
        try:
            idle = json.load(open(sys.argv[2]))
        except (OSError, ValueError):
            idle = None
    if len(sys.argv) > 3:
        print("```\n" + open(sys.argv[3]).read().strip() + "\n```\n")

    by = {}
    for r in runs:
        by.setdefault((r["scenario"], r["path"]), []).append(r)
    scenarios = [s for s in SCEN_NAMES if any(k[0] == s for k in by)]
    checks = []
    total_errors = sum(r.get("errors", 0) for r in runs)
    store_ok = all(r["stored"] == r["requests"] for r in runs if r["path"] == "authscope")

    for s in scenarios:
        print(f"### {SCEN_NAMES[s]}\n")
        print("| path | req/s (median) | req/s per round | p50 µs | p99 µs | errors | proxy CPU µs/req | RSS rest / peak MB |")
        print("|---|---|---|---|---|---|---|---|")
        for p in PATH_ORDER:
            rs = by.get((s, p))
            if not rs:
                continue
            rps = [r["req_per_s"] for r in rs]
            cpu = med([r.get("cpu_us_per_req") for r in rs]) if p != "direct" else None
            rss = ("–" if p == "direct" else
                   f"{med([r['rss_rest_kb'] for r in rs]) / 1024:.1f} / {max(r['rss_peak_kb'] for r in rs) / 1024:.1f}")
            print(f"| {PATH_NAMES[p]} | {med(rps):.0f} | {' · '.join(f'{x:.0f}' for x in rps)} | "
                  f"{fmt(med([r['p50_us'] for r in rs]))} | {fmt(med([r['p99_us'] for r in rs]))} | "
                  f"{sum(r.get('errors', 0) for r in rs)} | {fmt(cpu)} | {rss} |")
        # Per-round ratios: runs of one round are adjacent in time, so their ratio is the fair one.
        rounds = sorted({r["round"] for r in runs if r["scenario"] == s})
        def get(p, rd):
            for r in by.get((s, p), []):
                if r["round"] == rd:
                    return r
            return None
        print()
        lines = []
        for other in ["direct", "mitmdump-w", "mitmdump"]:
            ratios = []
            for rd in rounds:
                a, b = get("authscope", rd), get(other, rd)
                if a and b and b["req_per_s"] > 0:
                    ratios.append(a["req_per_s"] / b["req_per_s"])
            if ratios:
                m = med(ratios)
                lines.append((other, m))
                print(f"- authscope / {other}: per round {' · '.join(f'{x:.2f}' for x in ratios)}; median **{m:.2f}×**")
        added = []
        for rd in rounds:
            a, b = get("authscope", rd), get("direct", rd)
            if a and b:
                added.append((a["p50_us"] - b["p50_us"]) / 1000)
        if added:
            print(f"- added p50 over direct: per round {' · '.join(f'{x:.3f}' for x in added)} ms; median **{med(added):.3f} ms**")
        print()
        ratios = dict(lines)
        if s in ("ka1", "ka8") and "mitmdump-w" in ratios:
            checks.append((f"{SCEN_NAMES[s]}: ≥ 10× mitmdump -w", f"{ratios['mitmdump-w']:.2f}×", ratios["mitmdump-w"] >= 10))
        if s == "nc8" and "mitmdump" in ratios:
            checks.append((f"{SCEN_NAMES[s]}: ≥ 3× mitmdump", f"{ratios['mitmdump']:.2f}×", ratios["mitmdump"] >= 3))
        if s == "ka1" and added:
            checks.append(("added p50 at c=1 ≤ 0.2 ms", f"{med(added):.3f} ms", med(added) <= 0.2))

    a_runs = [r for r in runs if r["path"] == "authscope"]
    if a_runs:
        rest = med([r["rss_rest_kb"] for r in a_runs]) / 1024
        peak = max(r["rss_peak_kb"] for r in a_runs) / 1024
        checks.append(("RSS at rest ≤ 15 MB", f"{rest:.1f} MB (peak under load {peak:.1f} MB)", rest <= 15))
    if idle:
        print(f"### {idle.get('idle')} idle kept-alive intercepted connections\n")
        fresh = idle.get("kb_per_fresh_conn")
        if fresh is not None:
            print(f"- 1.5 s after the last answer: {idle['rss_busy_kb'] / 1024:.1f} MB, "
                  f"{fresh:.1f} KB per connection (upstreams still open)")
        warm = idle.get("rss_warm_kb")
        if warm is not None:
            print(f"- RSS at rest {idle['rss_rest_kb'] / 1024:.1f} MB, after a one-second warm-up "
                  f"({idle.get('warmup_requests')} requests, connections closed) {warm / 1024:.1f} MB")
        print(f"- with the connections idle {idle.get('settle_s', 1)} s: {idle['rss_idle_kb'] / 1024:.1f} MB: "
              f"**{idle['kb_per_idle_conn']:.1f} KB per connection** over the warmed-up proxy"
              + (f" ({idle['kb_per_idle_conn_cold']:.1f} KB over the cold start, one-time costs included)"
                 if "kb_per_idle_conn_cold" in idle else "")
              + f"; loadgen requests {idle.get('requests')}, errors {idle.get('errors')}, stored {idle.get('stored')}\n")
        checks.append(("≤ 40 KB per idle intercepted connection", f"{idle['kb_per_idle_conn']:.1f} KB",
                       idle["kb_per_idle_conn"] <= 40 and idle.get("errors", 1) == 0))
        total_errors += idle.get("errors", 0) + idle.get("warmup_errors", 0)
        store_ok = store_ok and idle.get("stored") == idle.get("requests")
    lags = [r["store_lag_ms"] for r in runs if r["path"] == "authscope" and r.get("store_lag_ms", -1) >= 0]
    if lags:
        print(f"Store writer: every flow committed {min(lags)}–{max(lags)} ms after the last answer of a run "
              f"(median {med(lags):.0f} ms; the writer commits at least every 200 ms).\n")
        checks.append(("store writer keeps up (all flows committed ≤ 1 s after the last answer)",
                       f"{max(lags)} ms at most", max(lags) <= 1000))
    checks.append(("zero errors", str(total_errors), total_errors == 0))
    checks.append(("every flow of the run in the store after SIGINT",
                   "yes" if store_ok else "NO (see stored vs requests in raw.jsonl)", store_ok))
    print("### Targets (issue 6)\n")
    print("| target | measured | |")
    print("|---|---|---|")
    for name, value, ok in checks:
        print(f"| {name} | {value} | {'met' if ok else '**NOT MET**'} |")


if __name__ == "__main__":
    main()
