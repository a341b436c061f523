/** The portal's stylesheet and script, served from `/portal/assets/` (no CDN, no build step). */

export const PORTAL_CSS = `
:root{--bg:#f6f7fb;--card:#fff;--ink:#111827;--muted:#6b7280;--line:#e5e7eb;--brand:#4f46e5;--brand-ink:#fff;--ok:#15803d;--warn:#b45309;--bad:#b91c1c;--code:#0f172a;font-family:ui-sans-serif,system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
*{box-sizing:border-box}body{margin:0;line-height:1.5;font-size:15px}
a{color:var(--brand);text-decoration:none}a:hover{text-decoration:underline}
header.top{background:#0f172a;color:#e5e7eb}
header.top .bar{max-width:1180px;margin:0 auto;display:flex;align-items:center;gap:24px;padding:0 24px;height:56px}
.brand{font-weight:700;color:#fff;font-size:17px;display:flex;align-items:center;gap:8px}.brand:hover{text-decoration:none}
.brand .dot{width:22px;height:22px;border-radius:6px;background:linear-gradient(135deg,#818cf8,#22d3ee);display:inline-block}
nav.main{display:flex;gap:4px;flex:1}nav.main a{color:#cbd5e1;padding:6px 10px;border-radius:6px;font-size:14px}
nav.main a:hover,nav.main a.active{background:#1e293b;color:#fff;text-decoration:none}
nav.main .sep{width:1px;background:#334155;margin:8px 6px}
.who{display:flex;align-items:center;gap:10px;font-size:13px;color:#94a3b8}
.who form{margin:0}.who button{background:transparent;border:1px solid #334155;color:#e2e8f0;padding:4px 10px;border-radius:6px;cursor:pointer;font-size:13px}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600;background:#eef2ff;color:#3730a3}
.badge.ok{background:#dcfce7;color:var(--ok)}.badge.warn{background:#fef3c7;color:var(--warn)}.badge.bad{background:#fee2e2;color:var(--bad)}.badge.muted{background:#f3f4f6;color:var(--muted)}
main{max-width:1180px;margin:0 auto;padding:28px 24px 64px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px}h3{font-size:15px;margin:18px 0 8px}
.lead{color:var(--muted);margin:0 0 20px}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:20px;margin:0 0 18px;box-shadow:0 1px 2px rgba(0,0,0,.03)}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:18px}.grid3{display:grid;grid-template-columns:repeat(3,1fr);gap:18px}
.grid2>*,.grid3>*{min-width:0}
@media (max-width:860px){.grid2,.grid3{grid-template-columns:1fr}}
.quick-start h3{margin:14px 0 6px}
.stat{font-size:26px;font-weight:700}.stat-label{color:var(--muted);font-size:13px}
table{width:100%;border-collapse:collapse;font-size:14px}th{text-align:left;color:var(--muted);font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.03em;border-bottom:1px solid var(--line);padding:8px}
td{border-bottom:1px solid var(--line);padding:8px;vertical-align:top}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}tr:last-child td{border-bottom:0}
.table-wrap{overflow-x:auto}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
pre{background:var(--code);color:#e2e8f0;padding:14px 16px;border-radius:8px;overflow-x:auto;margin:0}
.snippet{position:relative;margin:0 0 12px}.snippet .copy{position:absolute;top:8px;right:8px}
label{display:block;font-weight:600;font-size:13px;margin:0 0 4px}
input[type=text],input[type=email],input[type=password],input[type=number],select{width:100%;padding:9px 11px;border:1px solid #d1d5db;border-radius:8px;font-size:15px;background:#fff}
input:focus,select:focus{outline:2px solid #a5b4fc;border-color:var(--brand)}
.field{margin:0 0 14px}.hint{color:var(--muted);font-size:12px;margin-top:3px}.field-error{color:var(--bad);font-size:13px;margin-top:4px}
button,.button{display:inline-block;background:var(--brand);color:var(--brand-ink);border:0;border-radius:8px;padding:9px 16px;font-size:14px;font-weight:600;cursor:pointer}
button:hover,.button:hover{filter:brightness(1.08);text-decoration:none}
button.secondary,.button.secondary{background:#fff;color:var(--ink);border:1px solid #d1d5db}
button.danger{background:#fff;color:var(--bad);border:1px solid #fecaca}
button.small{padding:4px 10px;font-size:12px}
.inline{display:flex;gap:8px;align-items:flex-end;flex-wrap:wrap}.inline .field{margin:0}
.alert{border-radius:10px;padding:12px 14px;margin:0 0 18px;border:1px solid}
.alert.error{background:#fef2f2;border-color:#fecaca;color:#7f1d1d}.alert.notice{background:#f0fdf4;border-color:#bbf7d0;color:#14532d}.alert.secret{background:#fffbeb;border-color:#fde68a;color:#78350f}
.alert .code{font-family:ui-monospace,monospace;font-size:12px;opacity:.8}
.hero{display:grid;grid-template-columns:1.2fr 1fr;gap:32px;align-items:start;margin-top:12px}
@media (max-width:860px){.hero{grid-template-columns:1fr}}
.hero h1{font-size:38px;line-height:1.15;margin-bottom:12px}.hero p.big{font-size:17px;color:#374151}
.ticks{list-style:none;padding:0;margin:18px 0}.ticks li{padding:4px 0 4px 26px;position:relative}.ticks li:before{content:"✓";position:absolute;left:0;color:var(--ok);font-weight:700}
.finding{display:block;border-radius:6px;padding:2px 8px;margin:0 0 4px;font-size:12px;font-weight:600;line-height:1.35}.finding.ok{background:#dcfce7;color:var(--ok)}.finding.warn{background:#fef3c7;color:var(--warn)}.finding.bad{background:#fee2e2;color:var(--bad)}
.muted{color:var(--muted)}.right{text-align:right}.nowrap{white-space:nowrap}
figure.chart{margin:0}figure.chart figcaption{font-weight:600;margin-bottom:6px}figure.chart svg{width:100%;height:auto}
svg .grid{stroke:#eef0f4}svg .axis{fill:#6b7280;font-size:11px}svg .label{fill:#111827;font-size:12px}svg .empty{fill:#9ca3af;font-size:14px}
.legend{display:flex;gap:14px;flex-wrap:wrap;font-size:13px;margin-top:6px}.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
svg.score .track{fill:#eef2ff}svg.score .fill{fill:#6366f1}svg.score .whisker{stroke:#111827;stroke-width:1.4}
.tabs{display:flex;gap:6px;margin:0 0 14px}.tabs a{padding:6px 12px;border-radius:999px;border:1px solid var(--line);background:#fff;color:var(--ink);font-size:13px}.tabs a.active{background:var(--ink);color:#fff;border-color:var(--ink)}
.balance{display:flex;gap:12px;align-items:center;flex-wrap:wrap;font-size:15px}.balance .eq{font-weight:700;color:var(--muted)}
footer{max-width:1180px;margin:0 auto;padding:0 24px 40px;color:var(--muted);font-size:12px}
details summary{cursor:pointer;color:var(--brand);font-size:13px}
`;

/** Progressive enhancement only: every page works without it. */
export const PORTAL_JS = `
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        var label = button.textContent;
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = label; }, 1500);
      });
    }
  }
});
document.addEventListener("submit", function (event) {
  var message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) event.preventDefault();
});
`;
