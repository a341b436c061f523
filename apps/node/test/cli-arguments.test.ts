import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runProcess, writeNewerMigratedSqlite } from "@pocket-ai/runtime/testing";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { POCKET_NODE_COMMAND } from "./helpers/command-bundle.js";

const NODE_APP = fileURLToPath(new URL("..", import.meta.url));

/** `pocket-node ARGS`, bundled, run from the app's folder to its end (within a minute). */
const pocketNode = (args: readonly string[]) =>
  runProcess(process.execPath, [POCKET_NODE_COMMAND, ...args], { cwd: NODE_APP, timeout: 60_000 });

describe("pocket-node keys generate", () => {
  it("writes the key 0600 in folders it creates 0700", async () => {
    const root = mkdtempSync(join(tmpdir(), "pocket-node-key-"));
    try {
      const file = join(root, "secrets", "node", "node.key");
      const run = await pocketNode(["keys", "generate", "--out", file]);
      expect(run.status, run.stderr).toBe(0);
      const mode = (path: string) => statSync(path).mode & 0o777;
      expect(mode(file)).toBe(0o600);
      expect(mode(join(root, "secrets"))).toBe(0o700);
      expect(mode(join(root, "secrets", "node"))).toBe(0o700);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("refuses to overwrite a key with KEY_FILE_EXISTS, and leaves the old key as it was", async () => {
    const root = mkdtempSync(join(tmpdir(), "pocket-node-key-"));
    try {
      const file = join(root, "node.key");
      writeFileSync(file, "old key\n");
      const run = await pocketNode(["keys", "generate", "--out", file]);
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(
        `pocket-node: KEY_FILE_EXISTS: ${file} already exists; a key is never overwritten. Choose another --out.`,
      );
      expect(readFileSync(file, "utf8")).toBe("old key\n");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("pocket-node's arguments", () => {
  it.each([
    [["--help"], 0, "pocket-node start [--config node.yaml]"],
    [["start", "--help"], 0, "pocket-node check [--config node.yaml]"],
    [["start", "--port", "5"], 2, "Unknown option '--port'. Settings come from the config file"],
    [["strat"], 2, 'pocket-node: unknown command "strat"'],
    [["keys", "generate"], 2, "pocket-node: keys generate needs --out FILE"],
  ])("answers %j without loading the app, the runtime or Effect", async (args, status, said) => {
    // The hook makes importing any of them fail: a command line answered before it loads them passes.
    const run = await runProcess(
      process.execPath,
      ["--import", "tsx", "--import", "./test/helpers/refuse-app-import.mjs", "src/cli.ts", ...args],
      { cwd: NODE_APP, timeout: 60_000 },
    );
    expect(run.stderr).not.toContain("this test refuses to load");
    expect(run.status).toBe(status);
    expect(status === 0 ? run.stdout : run.stderr).toContain(said);
    // A command line it does not take is answered with the usage too (docs/start-errors.md).
    if (status === 2) expect(run.stderr).toContain(`\n\npocket-node — `);
  });
  it("refuses an unknown option, naming it and where settings go, with no stack trace", async () => {
    const run = await pocketNode(["start", "--port", "5"]);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("Unknown option '--port'. Settings come from the config file");
    expect(run.stderr).toContain("pocket-node start");
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it("refuses a taken port before it creates a key file or a database", async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const dataDir = mkdtempSync(join(tmpdir(), "pocket-node-busy-"));
    try {
      const file = join(dataDir, "node.json");
      writeFileSync(
        file,
        JSON.stringify({
          listen: { host: "127.0.0.1", port: (busy.address() as AddressInfo).port },
          dataDir,
          services: [{ serviceId: "llama-2-13b", tiers: ["standard"], backends: [{ kind: "dev" }] }],
        }),
      );
      const run = await pocketNode(["start", "--config", file]);
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(
        `pocket-node: PORT_IN_USE: Port ${(busy.address() as AddressInfo).port} on 127.0.0.1 is already in use. Set listen.port (env POCKET_NODE__LISTEN__PORT)`,
      );
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(existsSync(join(dataDir, "node.key"))).toBe(false);
      expect(existsSync(join(dataDir, "node.sqlite"))).toBe(false);
    } finally {
      await new Promise((resolve) => busy.close(resolve));
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
  it("refuses a key file it cannot read with KEY_FILE_UNREADABLE, naming the file and the fix", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "pocket-node-key-"));
    try {
      const file = join(dataDir, "node.json");
      writeFileSync(
        file,
        JSON.stringify({
          listen: { host: "127.0.0.1", port: 0 },
          dataDir,
          // The data folder itself: a directory, not a key file.
          privateKeyFile: dataDir,
          services: [{ serviceId: "llama-2-13b", tiers: ["standard"], backends: [{ kind: "dev" }] }],
        }),
      );
      const run = await pocketNode(["start", "--config", file]);
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(
        `pocket-node: KEY_FILE_UNREADABLE: Cannot read the key file ${dataDir}: it is a directory: set privateKeyFile to the key file itself`,
      );
      expect(run.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
  it("refuses a ledger a newer release migrated with DATABASE_NEWER_THAN_APP, and writes nothing to it", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "pocket-node-newer-"));
    try {
      // As a newer release leaves node.sqlite: its record holds a migration this build does not have.
      const ledger = join(dataDir, "node.sqlite");
      writeNewerMigratedSqlite(ledger);
      const file = join(dataDir, "node.json");
      writeFileSync(
        file,
        JSON.stringify({
          listen: { host: "127.0.0.1", port: 0 },
          dataDir,
          services: [{ serviceId: "llama-2-13b", tiers: ["standard"], backends: [{ kind: "dev" }] }],
        }),
      );
      const run = await pocketNode(["start", "--config", file]);
      expect(run.status).toBe(1);
      expect(run.stderr.trimEnd().split("\n").at(-1)).toBe(
        `pocket-node: DATABASE_NEWER_THAN_APP: The database ${ledger} was migrated by a newer release of this app: it records 1 migration this release does not have, so this release would run on tables it does not know. Nothing was written to it. Start the newer release again, or restore the backup taken before the newer release first started on it`,
      );
      expect(run.stderr).not.toMatch(/\n\s+at /);
      const refused = new Database(ledger, { readonly: true });
      expect(refused.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all()).toEqual([
        "__drizzle_migrations",
      ]);
      refused.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
  it("refuses a tier the catalog does not have before it creates the data folder", async () => {
    const parent = mkdtempSync(join(tmpdir(), "pocket-node-tier-"));
    try {
      const dataDir = join(parent, "data");
      const file = join(parent, "node.json");
      writeFileSync(
        file,
        JSON.stringify({
          listen: { host: "127.0.0.1", port: 0 },
          dataDir,
          services: [{ serviceId: "llama-2-13b", tiers: ["gold"], backends: [{ kind: "dev" }] }],
        }),
      );
      const run = await pocketNode(["start", "--config", file]);
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(
        'pocket-node: INVALID_CONFIG: services.0.tiers: "gold" is not a tier of llama-2-13b (tiers: standard, batch, long-context)',
      );
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
  it("fails a check with BACKEND_CHECK_FAILED when a backend cannot start, after its report", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "pocket-node-check-"));
    try {
      const file = join(dataDir, "node.json");
      writeFileSync(
        file,
        JSON.stringify({
          dataDir,
          services: [
            {
              serviceId: "llama-2-13b",
              backends: [{ kind: "gguf", modelPath: join(dataDir, "missing.gguf") }],
            },
          ],
        }),
      );
      const run = await pocketNode(["check", "--config", file]);
      expect(run.stdout).toContain("llama-2-13b — gguf\ncannot start:");
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(
        "pocket-node: BACKEND_CHECK_FAILED: 1 backend(s) do not do what they declare: fix each one the report above marks",
      );
      expect(run.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
  it("fails a check with INVALID_CONFIG naming publicUrl when gateways could not be announced it", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "pocket-node-check-"));
    try {
      const file = join(dataDir, "node.json");
      writeFileSync(
        file,
        JSON.stringify({
          dataDir,
          publicUrl: "https://node.example.org:8545/?region=eu",
          services: [{ serviceId: "llama-2-13b", backends: [{ kind: "dev" }] }],
        }),
      );
      const run = await pocketNode(["check", "--config", file]);
      expect(run.status).toBe(1);
      expect(run.stderr).toContain("pocket-node: INVALID_CONFIG: invalid configuration");
      expect(run.stderr).toContain(
        "  - publicUrl: has a query (?…): set it to the base URL gateways reach this node at",
      );
      expect(run.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
  it("checks a service the config's own catalog adds as start would serve it (an embedding service, not text)", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "pocket-node-check-"));
    try {
      const file = join(dataDir, "node.json");
      const embedding = {
        id: "bge-test",
        kind: "embedding",
        class: "model",
        displayName: "BGE test",
        description: "A small embedding model for this test.",
        modelFamily: "bge",
        operations: ["embeddings"],
        tiers: [
          {
            id: "standard",
            description: "Per call.",
            priceMicroUsd: 50,
            computeUnitsPerRelay: 50,
            timeoutMs: 30_000,
            limits: { maxTokensPerInput: 512, maxInputs: 16, dimensions: 384 },
            hardware: { minVramGb: 0, gpuClass: "cpu-or-any-gpu", cpuAcceptable: true, notes: "CPU." },
          },
        ],
      };
      writeFileSync(
        file,
        JSON.stringify({
          dataDir,
          catalog: { services: [embedding] },
          services: [{ serviceId: "bge-test", backends: [{ kind: "dev" }] }],
        }),
      );
      const run = await pocketNode(["check", "--config", file]);
      expect(run.stderr).not.toMatch(/\n\s+at /);
      expect(run.stdout).toContain("bge-test — dev@local/embedding/");
      expect(run.stdout).not.toContain("serves text, not embeddings");
      expect(run.status).toBe(0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
