import type { NodeScore, Scoreboard } from "@pocket-ai/protocol";
import { oneLineText } from "@pocket-ai/runtime";

const pct = (v: number) => `${(v * 100).toFixed(1)}`;

function flagsOf(n: NodeScore): string {
  const flags: string[] = [];
  if (n.identity.sharedBackendGroup !== null)
    flags.push(`shared:${n.identity.sharedBackendGroup.slice(8, 14)}`);
  // Image nodes: the model test compared their pictures with the reference's for the same requests.
  if (n.identity.modelTest === "inconsistent")
    flags.push(
      n.images === undefined
        ? `NOT ${n.identity.declaredModel}`
        : `PICTURES-UNLIKE ${n.identity.declaredModel} reference`,
    );
  if (n.identity.modelTest === "consistent") flags.push(`${n.identity.declaredModel} ok`);
  if (n.loglikelihood === "unsupported") flags.push("no-prompt-logprobs");
  if (n.identity.cachedAnswers === true) flags.push("CACHED-ANSWERS");
  // Tiers withheld: no reference and no scorer, so its customers' answers cannot be checked.
  if (n.identity.organicCheck === "none") flags.push("customers-unchecked:no-tiers");
  // How its customers' answers are checked, and how many were (0: no customer traffic yet).
  const checked = n.identity.organicChecked;
  if (n.identity.organicCheck === "self")
    flags.push(checked === undefined ? "customers-self-checked" : `customers-self-checked:${checked}`);
  if (n.identity.organicCheck === "reference" && checked !== undefined)
    flags.push(`customers-checked:${checked}`);
  const checks = n.images?.checks;
  if (checks !== undefined) {
    const failing = Object.entries(checks).filter(
      ([name, e]) => name !== "distinct" && e !== undefined && e.n > 0 && e.mean < 0.5,
    );
    for (const [name] of failing) flags.push(`fails:${name}`);
    if (n.images?.seedDistance != null) flags.push(`seed-dist:${n.images.seedDistance.toFixed(2)}`);
  }
  return flags.join(" ");
}

/** The leaderboard as a plain-text table for the terminal. */
export function boardTable(board: Scoreboard): string {
  const categories = [...new Set(board.nodes.flatMap((n) => Object.keys(n.categories)))]
    .filter((c) => c !== "general")
    .sort();
  const headings = categories.map(oneLineText);
  const header = [
    "node",
    "overall [95% CI]",
    ...headings,
    "ttft p90",
    "tok/s p10",
    "err",
    "tiers",
    "identity",
  ];
  const rows = board.nodes.map((n) => [
    `${n.address.slice(0, 12)}…${n.address.slice(-4)}`,
    n.overall === undefined
      ? "-"
      : `${pct(n.overall.mean)} [${pct(n.overall.lower)}, ${pct(n.overall.upper)}] n=${n.overall.n}`,
    ...categories.map((c) => {
      const e = n.categories[c];
      return e === undefined ? "-" : `${pct(e.mean)}±${pct((e.upper - e.lower) / 2)}`;
    }),
    n.speed.ttftP10Ms === null ? "-" : `${Math.round(n.speed.ttftP10Ms)}ms`,
    n.speed.tokensPerSecondP10 === null ? "-" : n.speed.tokensPerSecondP10.toFixed(1),
    `${pct(n.errorRate)}%`,
    oneLineText(n.qualifies.join(",")) || "-",
    oneLineText(flagsOf(n)) || "-",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
