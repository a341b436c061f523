import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";

/** A copy of the committed migrations that stops before `tag`: a database of the version before it. */
export function migrationsBefore(folder: string, tag: string): string {
  const copy = mkdtempSync(join(tmpdir(), "pocket-migrations-before-"));
  cpSync(folder, copy, { recursive: true });
  const journalFile = join(copy, "meta", "_journal.json");
  const journal = JSON.parse(readFileSync(journalFile, "utf8")) as { entries: { tag: string }[] };
  const at = journal.entries.findIndex((e) => e.tag === tag);
  expect(at).toBeGreaterThan(0);
  writeFileSync(journalFile, JSON.stringify({ ...journal, entries: journal.entries.slice(0, at) }));
  return copy;
}
