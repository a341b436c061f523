import { oneLineText } from "@pocket-ai/runtime";

/** Rows as an aligned plain-text table with a header line; empty input prints "(none)". */
export function textTable(rows: readonly Record<string, unknown>[], columns: readonly string[]): string {
  if (rows.length === 0) return "(none)\n";
  const cells = rows.map((row) => columns.map((c) => cellText(row[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return `${[line(columns), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n")}\n`;
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return "-";
  if (typeof value === "number" && value > 1e12 && value < 1e13)
    return new Date(value).toISOString().slice(0, 19);
  return oneLineText(typeof value === "object" ? JSON.stringify(value) : String(value));
}
