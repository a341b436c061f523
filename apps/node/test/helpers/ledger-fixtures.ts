import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openSqlite } from "@pocket-ai/runtime";
import { Effect, Exit, Scope } from "effect";
import { nodeSchema } from "../../src/db/schema.js";

const migrationsFolder = fileURLToPath(new URL("../../drizzle", import.meta.url));

/** A relay as admission decided it (a unary one: `stream: true` for a streamed relay). */
export const relay = {
  requestHash: "ab".repeat(32),
  sessionId: "s1",
  sessionNumber: 1,
  sessionEnd: 10,
  serviceId: "llama-2-13b",
  tier: "standard",
  applicationAddress: "app",
  gatewayAddress: "gw",
  stream: false,
};

/** What an answered relay's row carries besides what admission decided. */
export const answered = {
  responseHash: "ef".repeat(32),
  leafHash: "01".repeat(32),
  inputTokens: 7,
  outputTokens: 9,
  computeUnits: 16,
};

/** A fresh ledger file's path. */
export const ledgerFile = () => join(mkdtempSync(join(tmpdir(), "pocket-node-store-")), "node.sqlite");

/** The node's database at `file` (a fresh one by default), open until `close`. */
export async function openLedger(file = ledgerFile(), migrations = migrationsFolder) {
  const scope = Effect.runSync(Scope.make());
  const { db } = await Effect.runPromise(
    Scope.extend(openSqlite({ file, schema: nodeSchema, migrationsFolder: migrations }), scope),
  );
  return { db, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) };
}

/**
 * A copy of the node's migrations folder that ends before the migration `tag`: a ledger opened
 * with it is one an earlier version wrote (open it again with the full folder to migrate it).
 */
export function migrationsBefore(tag: string): string {
  const before = mkdtempSync(join(tmpdir(), "pocket-node-migrations-"));
  cpSync(migrationsFolder, before, { recursive: true });
  const journalFile = join(migrationsFolder, "meta", "_journal.json");
  const journal = JSON.parse(readFileSync(journalFile, "utf8")) as { entries: { tag: string }[] };
  const at = journal.entries.findIndex((e) => e.tag === tag);
  if (at <= 0) throw new Error(`no migration ${tag} after the first`);
  writeFileSync(
    join(before, "meta", "_journal.json"),
    JSON.stringify({ ...journal, entries: journal.entries.slice(0, at) }),
  );
  return before;
}
