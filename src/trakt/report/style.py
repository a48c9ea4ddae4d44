"""The report's stylesheet, inlined into every page (the page loads nothing)."""

STYLE = """
:root {
  --ok:#2e7d32;
  --ok-bg:#e8f5e9;
  --bad:#c62828;
  --bad-bg:#ffebee;
  --run:#ef6c00;
  --run-bg:#fff3e0;
  --idle:#757575;
  --idle-bg:#f5f5f5;
  --line:#d0d7de;
}
body {
  font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
  margin:0 auto;
  max-width:1200px;
  padding:16px 24px;
  color:#1f2328;
}
h1 {font-size:22px; margin:0 0 8px}
h2 {font-size:18px; margin:28px 0 8px; border-bottom:1px solid var(--line)}
h3 {font-size:15px; margin:16px 0 6px}
code,pre {font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12.5px}
pre {
  white-space:pre-wrap;
  word-break:break-word;
  background:#f6f8fa;
  padding:10px;
  border-radius:6px;
}
.facts {display:grid; grid-template-columns:max-content 1fr; gap:2px 14px; margin:0}
.facts dt {color:#59636e}
.facts dd {margin:0; word-break:break-all}
table {border-collapse:collapse; margin:4px 0 12px; font-size:13px}
th,td {border:1px solid var(--line); padding:3px 8px; text-align:left; vertical-align:top}
th {background:#f6f8fa}
td {word-break:break-word}
.num {text-align:right; white-space:nowrap}
.muted {color:#59636e}
.badge {
  display:inline-block;
  padding:1px 8px;
  border-radius:10px;
  font-size:12px;
  font-weight:600;
  vertical-align:middle;
  background:var(--idle-bg);
  color:var(--idle);
  border:1px solid currentColor;
}
.badge.status-success,.badge.status-read,.badge.status-written {
  background:var(--ok-bg);
  color:var(--ok);
}
.badge.status-failed,.badge.status-invalid {background:var(--bad-bg); color:var(--bad)}
.badge.status-running,.badge.status-cancelled,.badge.status-aborted {
  background:var(--run-bg);
  color:var(--run);
}
.error {
  border:2px solid var(--bad);
  background:var(--bad-bg);
  border-radius:8px;
  padding:4px 16px 12px;
}
.error h2 {color:var(--bad); border:0}
.error .message {font-size:15px}
.error-message {white-space:pre-wrap}
.location code {font-size:14px; font-weight:600}
.dag-wrap {overflow-x:auto; border:1px solid var(--line); border-radius:8px; background:#fff}
.dag-wrap svg {max-width:100%; height:auto; display:block}
.timeline {width:100%}
.timeline .lane {width:60%; padding:4px}
.timeline .kind {color:#59636e}
.bar {height:12px; border-radius:3px; background:var(--idle); min-width:2px}
.bar.status-success,.bar.status-read,.bar.status-written {background:var(--ok)}
.bar.status-failed {background:var(--bad)}
.bar.status-running,.bar.status-aborted {background:var(--run)}
details {margin:4px 0}
summary {cursor:pointer}
"""
