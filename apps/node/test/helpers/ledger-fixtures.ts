import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openSqlite } from "@pocket-ai/runtime";
import { Effect, Exit, Scope } from "effect";
import { nodeSchema } from "../../src/db/schema.js";

const migrationsFolder = fileURLToPath(new URL("../../drizzle", import.meta.url));

/** A relay as admission decided it. */
export const relay = {
  requestHash: "ab".repeat(32),
  sessionId: "s1",
  sessionNumber: 1,
  sessionEnd: 10,
  serviceId: "llama-2-13b",
  tier: "standard",
  applicationAddress: "app",
  gatewayAddress: "gw",
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
export async function openLedger(file = ledgerFile()) {
  const scope = Effect.runSync(Scope.make());
  const { db } = await Effect.runPromise(
    Scope.extend(openSqlite({ file, schema: nodeSchema, migrationsFolder }), scope),
  );
  return { db, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) };
}
