import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeNewerMigratedSqlite } from "@pocket-ai/runtime/testing";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { POCKET_GATEWAY_COMMAND } from "./support/command-bundle.js";
import { processScope, spawnGateway } from "./support/gateway-process.js";

const GATEWAY_APP = fileURLToPath(new URL("..", import.meta.url));
const scope = processScope("pocket-gateway-start-");

/** A config file in the scope's folder: the gateway on `dataDir`, any free port unless `extra` says. */
function configFile(name: string, extra: Record<string, unknown>): string {
  const file = join(scope.dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({ listen: { host: "127.0.0.1", port: 0 }, dataDir: join(scope.dir, name), ...extra }),
  );
  return file;
}

/** Runs `pocket-gateway start` to its end (it must stop on its own): its status and stderr. */
function startToExit(config: string): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(process.execPath, [POCKET_GATEWAY_COMMAND, "start", "--config", config], {
    cwd: GATEWAY_APP,
    stdio: ["ignore", "ignore", "pipe"],
  });
  scope.children.push(child);
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (text: string) => {
    stderr += text;
  });
  return new Promise((resolve) => child.once("close", (status) => resolve({ status, stderr })));
}

/** The one line the gateway printed on stopping (its JSON log lines aside). */
const lastWords = (stderr: string) => stderr.trimEnd().split("\n").at(-1) ?? "";

describe("pocket-gateway start failures", () => {
  it("print a stable code first and what to do, exit 1, and never a stack", async () => {
    const first = await spawnGateway(
      configFile("first", { dataDir: join(scope.dir, "shared") }),
      scope.children,
    );
    const port = Number(new URL(first.url).port);
    const keyFolder = join(scope.dir, "key-folder");
    mkdirSync(keyFolder);
    const damaged = join(scope.dir, "damaged");
    mkdirSync(damaged);
    writeFileSync(
      join(damaged, "gateway.sqlite"),
      "this is no SQLite database, only words in a file\n".repeat(200),
    );
    // A file a newer release migrated: drizzle's record holds a migration this build does not have.
    const newer = join(scope.dir, "newer");
    mkdirSync(newer);
    const newerFile = join(newer, "gateway.sqlite");
    writeNewerMigratedSqlite(newerFile);
    const [sameFolder, samePort, keyIsFolder, badDatabase, newerDatabase] = await Promise.all([
      startToExit(configFile("second", { dataDir: join(scope.dir, "shared") })),
      startToExit(configFile("port", { listen: { host: "127.0.0.1", port } })),
      startToExit(configFile("key", { privateKeyFile: keyFolder })),
      startToExit(configFile("db", { dataDir: damaged })),
      startToExit(configFile("newer", { dataDir: newer })),
    ]);
    expect(lastWords(sameFolder.stderr)).toMatch(
      new RegExp(`^pocket-gateway: DATA_DIR_LOCKED: another pocket-gateway \\(process ${first.child.pid}\\)`),
    );
    expect(lastWords(samePort.stderr)).toBe(
      `pocket-gateway: PORT_IN_USE: Port ${port} on 127.0.0.1 is already in use. Set listen.port (env POCKET_GATEWAY__LISTEN__PORT) to a free port.`,
    );
    expect(lastWords(keyIsFolder.stderr)).toMatch(
      /^pocket-gateway: KEY_FILE_UNREADABLE: Cannot read the key file .*: it is a directory: set privateKeyFile/,
    );
    expect(lastWords(badDatabase.stderr)).toMatch(
      /^pocket-gateway: DATABASE_UNAVAILABLE: Cannot open the database .*SQLITE_NOTADB.*restore it from a backup/,
    );
    expect(lastWords(newerDatabase.stderr)).toBe(
      `pocket-gateway: DATABASE_NEWER_THAN_APP: The database ${newerFile} was migrated by a newer release of this app: it records 1 migration this release does not have, so this release would run on tables it does not know. Nothing was written to it. Start the newer release again, or restore the backup taken before the newer release first started on it`,
    );
    // Refused before anything was written: no table of this build's was created in it.
    const refused = new Database(newerFile, { readonly: true });
    expect(refused.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all()).toEqual([
      "__drizzle_migrations",
    ]);
    refused.close();
    for (const run of [sameFolder, samePort, keyIsFolder, badDatabase, newerDatabase]) {
      expect(run.status).toBe(1);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
    // The first gateway still runs: the refused ones took nothing from it.
    expect((await fetch(`${first.url}/health`)).status).toBe(200);
  }, 120_000);
});
