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
  return visible(typeof value === "object" ? JSON.stringify(value) : String(value));
}

/**
 * A cell on one line: a name may hold a line break, a tab or a terminal escape (names are the
 * operator's customers' input), which would break the table or the terminal; each such character
 * is written as an escape (`\n`, `\u001b`).
 */
function visible(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds.
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) =>
    c === "\n"
      ? "\\n"
      : c === "\r"
        ? "\\r"
        : c === "\t"
          ? "\\t"
          : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
