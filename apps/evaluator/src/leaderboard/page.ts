import type { Scoreboard } from "@pocket-ai/protocol";
import { PAGE_SCRIPT } from "./page-script.js";

/** `</script>` inside embedded JSON would end the script element early. */
const embed = (board: Scoreboard) => JSON.stringify(board).replace(/</g, "\\u003c");

/**
 * The public leaderboard: one self-contained HTML page (inline CSS and script, no external
 * requests), with the scoreboard embedded as JSON so the page works without further calls.
 */
export function leaderboardPage(board: Scoreboard): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pocket AI — node leaderboard</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #1d232b; }
  table { border-collapse: collapse; width: 100%; }
  th, td { padding: .45rem .6rem; border-bottom: 1px solid #e3e6ea; text-align: left; vertical-align: top; }
  th { cursor: pointer; user-select: none; white-space: nowrap; }
  th[aria-sort="ascending"]::after { content: " ▲"; } th[aria-sort="descending"]::after { content: " ▼"; }
  code { font-size: 12px; } .svc { color: #5b6570; font-size: 12px; }
  .bar .fill { fill: #5a8dee; } .bar .whisker { stroke: #1d232b; stroke-width: 1.2; }
  .num { font-variant-numeric: tabular-nums; font-size: 12px; }
  .flag { display: inline-block; border-radius: 3px; padding: 0 .35rem; font-size: 12px; margin: 1px; }
  .flag.bad { background: #fde2e1; color: #9b1c1c; } .flag.warn { background: #fff4d6; color: #7a5300; }
  .flag.shared { background: #e6e1fd; color: #3b2a8f; } .flag.ok { background: #e1f5e6; color: #1e5f30; }
  .flag.info { background: #eef1f4; color: #3d4650; }
  footer { margin-top: 1rem; color: #5b6570; font-size: 12px; }
</style>
</head>
<body>
<h1>Node leaderboard</h1>
<p>Scores are shares of items answered correctly (for image nodes, the <code>images</code> column: shares of image checks passed), with 95% Wilson intervals (whiskers). A node joins a quality tier only when the lower end of its interval clears the tier's bar. Evaluator: <code>${escapeHtml(board.evaluator)}</code>.</p>
<table id="board"></table>
<footer>Generated ${new Date(board.generatedAt).toISOString()} · machine-readable: <a href="/scoreboard.json">scoreboard.json</a> · tRPC <code>scores.board</code></footer>
<script id="board-data" type="application/json">${embed(board)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
