// The report's stylesheet, inlined so the page opens offline with no external asset.
#pragma once

namespace authscope {

inline constexpr const char* kReportCss = R"CSS(
:root{--fg:#0f172a;--muted:#64748b;--line:#e2e8f0;--bg:#f8fafc;--card:#fff;
--critical:#7f1d1d;--high:#b91c1c;--medium:#c2410c;--low:#a16207;--info:#1d4ed8}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
header{background:#0f172a;color:#f8fafc;padding:20px 32px}
header h1{margin:0 0 4px;font-size:22px;font-weight:600}
header .meta{color:#cbd5e1;font-size:13px}
main{max-width:1200px;margin:0 auto;padding:16px 32px 48px}
h2{font-size:18px;margin:28px 0 10px;border-bottom:1px solid var(--line);padding-bottom:4px}
.summary{display:flex;gap:10px;flex-wrap:wrap;margin:14px 0}
.count{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 16px;min-width:110px}
.count .n{font-size:24px;font-weight:700}
.badge{display:inline-block;border-radius:999px;padding:1px 9px;font-size:12px;font-weight:600;color:#fff;text-transform:uppercase;letter-spacing:.03em}
.sev-critical{background:var(--critical)}.sev-high{background:var(--high)}.sev-medium{background:var(--medium)}
.sev-low{background:var(--low)}.sev-info{background:var(--info)}
.finding{background:var(--card);border:1px solid var(--line);border-left:5px solid var(--muted);border-radius:8px;padding:12px 16px;margin:12px 0}
.finding.critical{border-left-color:var(--critical)}.finding.high{border-left-color:var(--high)}
.finding.medium{border-left-color:var(--medium)}.finding.low{border-left-color:var(--low)}.finding.info{border-left-color:var(--info)}
.finding h3{margin:0 0 6px;font-size:15px}
.finding .rule{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:var(--muted);font-size:12px;margin-left:6px}
.finding .why{color:var(--muted);margin:6px 0}
table{border-collapse:collapse;width:100%;background:var(--card)}
th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top;font-size:13px}
th{background:#f1f5f9;font-weight:600}
td.mono,code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
.evidence{margin-top:8px}
.flows a{margin-right:6px}
.exchange{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 16px;margin:12px 0;overflow-x:auto}
.exchange h3{margin:0 0 8px;font-size:14px}
svg .lane-head{fill:#f1f5f9;stroke:#94a3b8}
svg .lane-name{font:12px system-ui,sans-serif;fill:#0f172a;font-weight:600}
svg .lifeline{stroke:#94a3b8;stroke-dasharray:4 4}
svg .msg{stroke:#334155;stroke-width:1.5}
svg .msg.err{stroke:#b91c1c}
svg .label{font:11px ui-monospace,Menlo,Consolas,monospace;fill:#0f172a}
svg .label.err{fill:#b91c1c}
svg .axis{stroke:#94a3b8}
svg .tick{font:10px system-ui,sans-serif;fill:#64748b}
svg .bar.ok{fill:#16a34a}svg .bar.warn{fill:#d97706}svg .bar.fail{fill:#dc2626}svg .bar.tunnel{fill:#94a3b8}
details{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:6px 12px;margin:8px 0}
summary{cursor:pointer}
.status-ok{color:#15803d}.status-warn{color:#b45309}.status-fail{color:#b91c1c}
.note{color:var(--muted);font-size:13px}
tr:target{background:#fef9c3}
@media print{header{background:#fff;color:#000}header .meta{color:#333}details{break-inside:avoid}.finding{break-inside:avoid}}
)CSS";

}  // namespace authscope
