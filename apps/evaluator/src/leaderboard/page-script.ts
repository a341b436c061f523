/**
 * The leaderboard's browser script, as a string served inline (no bundler, no framework). It
 * renders the table from the embedded scoreboard JSON, sorts on header clicks, and applies
 * `?sort=<column>&dir=asc|desc` from the address on load, so a sorted view can be linked. Every
 * text of the board is escaped before it joins the markup: a declared model is whatever a node
 * announced, and a category or service name is data too.
 */
export const PAGE_SCRIPT = `
const board = JSON.parse(document.getElementById("board-data").textContent);
const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const esc = (text) => String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
const categories = [...new Set(board.nodes.flatMap((n) => Object.keys(n.categories)))].filter((c) => c !== "general").sort();
const columns = [
  { key: "address", label: "Node", value: (n) => n.address },
  { key: "overall", label: "Overall (95% CI)", value: (n) => n.overall ? n.overall.lower : -1 },
  ...categories.map((c) => ({ key: "cat:" + c, label: c, value: (n) => n.categories[c] ? n.categories[c].lower : -1, category: c })),
  { key: "ttft", label: "TTFT p90 ms", value: (n) => n.speed.ttftP10Ms ?? Infinity },
  { key: "tps", label: "tok/s p10", value: (n) => n.speed.tokensPerSecondP10 ?? -1 },
  { key: "errors", label: "Errors", value: (n) => n.errorRate },
  { key: "flags", label: "Identity / integrity", value: (n) => flags(n).filter((f) => f.cls !== "info").length },
];
const IMAGE_FAULTS = [
  ["png", "not PNG"], ["size", "wrong size"], ["notBlank", "blank images"], ["seed", "ignores seed"],
  ["colour", "ignores named colours"], ["img2img", "ignores img2img strength"],
  ["inpaint", "inpainting changes unmasked pixels"], ["outpaint", "outpainting loses the source"],
];
function flags(n) {
  const out = [];
  if (n.identity.sharedBackendGroup) out.push({ cls: "shared", text: "shared backend " + n.identity.sharedBackendGroup.slice(8, 14) });
  if (n.identity.modelTest === "inconsistent")
    out.push({ cls: "bad", text: n.images ? "pictures unlike the " + n.identity.declaredModel + " reference" : "not " + n.identity.declaredModel });
  if (n.identity.modelTest === "consistent") out.push({ cls: "ok", text: n.identity.declaredModel + " ✓" });
  if (n.loglikelihood === "unsupported") out.push({ cls: "warn", text: "no prompt logprobs" });
  if (n.identity.cachedAnswers) out.push({ cls: "bad", text: "cached answers" });
  if (n.identity.organicCheck === "none") out.push({ cls: "warn", text: "customers unchecked: no tiers" });
  const checked = n.identity.organicChecked;
  const answers = checked === undefined ? "customers" : checked + " customer answer" + (checked === 1 ? "" : "s");
  if (n.identity.organicCheck === "self") out.push({ cls: "info", text: answers + " checked against its own probe answers" });
  if (n.identity.organicCheck === "reference" && checked !== undefined)
    out.push({ cls: "info", text: answers + " checked against the reference" });
  for (const [check, text] of IMAGE_FAULTS) {
    const e = n.images && n.images.checks[check];
    if (e && e.n > 0 && e.mean < 0.5) out.push({ cls: "bad", text });
  }
  if (n.images && n.images.seedDistance !== null) out.push({ cls: "info", text: "seed distance " + n.images.seedDistance.toFixed(2) });
  return out;
}
function bar(e) {
  if (!e) return '<span class="na">–</span>';
  const pct = (v) => (v * 100).toFixed(1);
  return '<svg class="bar" viewBox="0 0 100 14" width="120" height="14" role="img" aria-label="' + pct(e.mean) + '%">' +
    '<rect x="0" y="3" width="' + pct(e.mean) + '" height="8" class="fill"/>' +
    '<line x1="' + pct(e.lower) + '" x2="' + pct(e.upper) + '" y1="7" y2="7" class="whisker"/>' +
    '<line x1="' + pct(e.lower) + '" x2="' + pct(e.lower) + '" y1="2" y2="12" class="whisker"/>' +
    '<line x1="' + pct(e.upper) + '" x2="' + pct(e.upper) + '" y1="2" y2="12" class="whisker"/></svg>' +
    ' <span class="num" data-mean="' + e.mean + '" data-lower="' + e.lower + '" data-upper="' + e.upper + '">' + pct(e.mean) + '% [' + pct(e.lower) + ', ' + pct(e.upper) + '] n=' + e.n + '</span>';
}
function cell(col, n) {
  if (col.key === "address") return '<code>' + esc(n.address) + '</code><div class="svc">' + esc(n.serviceId) + (n.qualifies.length ? ' · ' + esc(n.qualifies.join(", ")) : '') + '</div>';
  if (col.key === "overall") return bar(n.overall);
  if (col.category) return bar(n.categories[col.category]);
  if (col.key === "ttft") return n.speed.ttftP10Ms === null ? "–" : Math.round(n.speed.ttftP10Ms);
  if (col.key === "tps") return n.speed.tokensPerSecondP10 === null ? "–" : n.speed.tokensPerSecondP10.toFixed(1);
  if (col.key === "errors") return (n.errorRate * 100).toFixed(1) + "%";
  return flags(n).map((f) => '<span class="flag ' + f.cls + '">' + esc(f.text) + '</span>').join(" ");
}
let state = { key: "overall", dir: "desc" };
function draw() {
  const col = columns.find((c) => c.key === state.key) || columns[1];
  const rows = [...board.nodes].sort((a, b) => {
    const x = col.value(a), y = col.value(b);
    const c = x < y ? -1 : x > y ? 1 : 0;
    return state.dir === "asc" ? c : -c;
  });
  const head = columns.map((c) => '<th data-key="' + esc(c.key) + '" aria-sort="' + (c.key === state.key ? (state.dir === "asc" ? "ascending" : "descending") : "none") + '">' + esc(c.label) + '</th>').join("");
  const body = rows.map((n) => '<tr data-address="' + esc(n.address) + '">' + columns.map((c) => '<td>' + cell(c, n) + '</td>').join("") + '</tr>').join("");
  document.getElementById("board").innerHTML = '<thead><tr>' + head + '</tr></thead><tbody>' + body + '</tbody>';
  for (const th of document.querySelectorAll("th[data-key]")) th.onclick = () => {
    const key = th.getAttribute("data-key");
    state = { key, dir: state.key === key && state.dir === "desc" ? "asc" : "desc" };
    draw();
  };
  document.body.setAttribute("data-sorted", state.key + ":" + state.dir);
}
const params = new URLSearchParams(location.search);
if (params.get("sort")) state = { key: params.get("sort"), dir: params.get("dir") === "asc" ? "asc" : "desc" };
draw();
`;
