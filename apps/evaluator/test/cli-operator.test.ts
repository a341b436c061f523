import { mkdirSync, readdirSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { createDevTextEngine } from "@pocket-ai/node/fakes";
import { generateKeyPair } from "@pocket-ai/protocol";
import { writeNewerMigratedSqlite } from "@pocket-ai/runtime/testing";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevGateway, startDevGateway } from "./dev-gateway.js";
import { closedPort, evaluatorCli, startEvaluatorCli, tempDir, writeConfig } from "./evaluator-process.js";

/**
 * `pocket-evaluator` as an operator runs it: a real process, its config in a file, a gateway on
 * loopback (or none), its SQLite file on disk.
 */

const STACK = /\n\s+at /;
const node = generateKeyPair().address;
let gateway: DevGateway;

beforeAll(async () => {
  gateway = await startDevGateway({
    nodes: [{ address: node, text: createDevTextEngine({ quality: 1 }) }],
    evaluatorKey: "sk-evaluator",
  });
});
afterAll(() => gateway.close());

/** A config for one node through `baseUrl`, its data in `dir`. */
function config(dir: string, baseUrl: string, apiKey = "sk-evaluator", port = 0) {
  return writeConfig(dir, {
    dataDir: join(dir, "data"),
    listen: { host: "127.0.0.1", port },
    gateway: { baseUrl, apiKey, timeoutMs: 5_000 },
    nodes: [{ address: node, serviceId: "dev-text", model: "dev-text" }],
    run: { itemsPerTask: 8, identityPrompts: 0, speedProbes: 1, perNodeRatePerSecond: 1000 },
  });
}

/** What the data folder's database holds: item results and published entries. */
function stored(dir: string) {
  const db = new Database(join(dir, "data", "evaluator.sqlite"), { readonly: true });
  try {
    const count = (table: string) =>
      (db.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;
    return { results: count("item_results"), published: count("node_scores") };
  } finally {
    db.close();
  }
}

// Each case starts the CLI (Node and its TypeScript loader): seconds on an idle machine, far more
// when the other packages' tests share its two cores. A limit only stops a hung process here.
describe("pocket-evaluator's arguments", { timeout: 180_000 }, () => {
  it.concurrent.each([
    [["start", "--port", "5"], "Unknown option '--port'. Other settings come from the config file"],
    [["run", "--node"], "Option '--node <value>' argument missing."],
    [["start", "--node", node], "start does not take --node."],
    [["run", "--tasks", "a.yaml", "b.yaml"], "unexpected argument 'b.yaml'"],
    [["bogus"], "unknown command 'bogus'."],
    [[], "a command is missing."],
  ])("refuses %j with exit 2, what was wrong and the usage, no stack trace", async (args, said) => {
    const run = await evaluatorCli(args);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(said);
    expect(run.stderr).toContain("pocket-evaluator run [--node");
    expect(run.stderr).not.toMatch(STACK);
  });

  it("prints the usage for --help, -h and help, exit 0", async () => {
    for (const args of [["--help"], ["-h"], ["help"], ["run", "--help"]]) {
      const run = await evaluatorCli(args);
      expect(run.status).toBe(0);
      expect(run.stdout).toContain("pocket-evaluator start");
    }
  });
});

describe("a round the gateway cannot take", () => {
  it("a gateway that does not answer: exit 1, the code and what to do, nothing scored or published", async () => {
    const dir = tempDir();
    const baseUrl = `http://127.0.0.1:${await closedPort()}/v1`;
    const run = await evaluatorCli(["run", "--config", config(dir, baseUrl), "--all"]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`BACKEND_UNAVAILABLE: no answer from the gateway at ${baseUrl}`);
    expect(run.stderr).toContain("check gateway.baseUrl and that the gateway runs");
    expect(run.stderr).not.toMatch(STACK);
    expect(stored(dir)).toEqual({ results: 0, published: 0 });
  }, 60_000);

  it("a key the gateway refuses: exit 1, INVALID_API_KEY and the setting to fix, nothing scored", async () => {
    const dir = tempDir();
    const run = await evaluatorCli(["run", "--config", config(dir, gateway.baseUrl, "sk-wrong"), "--all"]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("INVALID_API_KEY");
    expect(run.stderr).toContain("POCKET_EVALUATOR__GATEWAY__API_KEY");
    expect(stored(dir)).toEqual({ results: 0, published: 0 });
  }, 60_000);
});

describe("start", () => {
  it("refuses to start with a suite that cannot load, instead of failing every round", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, {
      dataDir: join(dir, "data"),
      listen: { host: "127.0.0.1", port: 0 },
      gateway: { baseUrl: gateway.baseUrl, apiKey: "sk-evaluator" },
      nodes: [{ address: node, serviceId: "dev-text" }],
      tasks: [join(dir, "missing.yaml")],
    });
    // It must exit on its own: one that went on running fails the test at its time limit.
    const started = startEvaluatorCli(["start", "--config", file]);
    expect(await started.exited).toBe(1);
    expect(started.output()).toContain(
      `pocket-evaluator: INVALID_CONFIG: invalid task (${join(dir, "missing.yaml")})`,
    );
    expect(started.output()).not.toMatch(STACK);
  }, 180_000);
});

describe("start failures", () => {
  it("print a stable code first: no nodes, an unknown --node, a taken port, a newer database; exit 1, no stack trace", async () => {
    const dir = tempDir();
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const port = (busy.address() as AddressInfo).port;
    for (const sub of ["none", "port", "newer", join("newer", "data")]) mkdirSync(join(dir, sub));
    // As a newer release leaves evaluator.sqlite: its record holds a migration this build does not have.
    const newerFile = join(dir, "newer", "data", "evaluator.sqlite");
    writeNewerMigratedSqlite(newerFile);
    try {
      const none = writeConfig(join(dir, "none"), {
        dataDir: join(dir, "none", "data"),
        gateway: { baseUrl: gateway.baseUrl, apiKey: "sk-evaluator" },
      });
      const [empty, unknown, taken, newer] = await Promise.all([
        evaluatorCli(["run", "--config", none, "--all"]),
        evaluatorCli(["run", "--config", config(dir, gateway.baseUrl), "--node", "pokt1nobody"]),
        evaluatorCli(["serve", "--config", config(join(dir, "port"), gateway.baseUrl, "sk-evaluator", port)]),
        evaluatorCli(["start", "--config", config(join(dir, "newer"), gateway.baseUrl)]),
      ]);
      expect(empty.stderr).toContain(
        "pocket-evaluator: INVALID_CONFIG: invalid evaluator configuration:\n  - no nodes are configured",
      );
      expect(unknown.stderr).toContain(
        `pocket-evaluator: UNKNOWN_NODE: no configured node matches --node pokt1nobody; the config lists ${node}`,
      );
      expect(taken.stderr).toContain(
        `pocket-evaluator: PORT_IN_USE: Port ${port} on 127.0.0.1 is already in use. Set listen.port to a free port.`,
      );
      expect(newer.stderr).toContain(
        `pocket-evaluator: DATABASE_NEWER_THAN_APP: The database ${newerFile} was migrated by a newer release of this app: it records 1 migration this release does not have, so this release would run on tables it does not know. Nothing was written to it. Start the newer release again, or restore the backup taken before the newer release first started on it\n`,
      );
      const refused = new Database(newerFile, { readonly: true });
      expect(refused.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all()).toEqual([
        "__drizzle_migrations",
      ]);
      refused.close();
      for (const run of [empty, unknown, taken, newer]) {
        expect(run.status).toBe(1);
        expect(run.stderr).not.toMatch(STACK);
      }
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  }, 180_000);
});

describe("the data folder", () => {
  it("run prints the board and releases its lock after a round long enough to start the WAL checkpoint worker", async () => {
    const dir = tempDir();
    // Every starter item at 100 probes a second: several seconds, and well over 1 MiB of WAL, so the
    // runtime's checkpoint worker is running when the database closes.
    const file = writeConfig(dir, {
      dataDir: join(dir, "data"),
      listen: { host: "127.0.0.1", port: 0 },
      gateway: { baseUrl: gateway.baseUrl, apiKey: "sk-evaluator", timeoutMs: 5_000 },
      nodes: [{ address: node, serviceId: "dev-text", model: "dev-text" }],
      run: { itemsPerTask: 0, identityPrompts: 0, speedProbes: 1, perNodeRatePerSecond: 100 },
    });
    const run = await evaluatorCli(["run", "--config", file, "--all"]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain("overall [95% CI]");
    expect(readdirSync(join(dir, "data"))).toEqual(["evaluator.sqlite"]);
  }, 90_000);

  it("refuses a second evaluator on it; Ctrl-C leaves no lock and no -wal file, and the next one resumes", async () => {
    const dir = tempDir();
    const file = config(dir, gateway.baseUrl);
    const first = startEvaluatorCli(["start", "--config", file]);
    await first.until('"run started"');

    const second = await evaluatorCli(["run", "--config", file, "--all"]);
    expect(second.status).toBe(1);
    expect(second.stderr).toContain("another pocket-evaluator");
    expect(second.stderr).toContain("give this one a dataDir of its own");
    // The board can still be read while the other one runs.
    expect((await evaluatorCli(["leaderboard", "--config", file])).status).toBe(0);

    first.child.kill("SIGINT");
    expect(await first.exited).toBe(0);
    // No lock, no -wal or -shm: the database was checkpointed and closed, the lock released.
    expect(readdirSync(join(dir, "data"))).toEqual(["evaluator.sqlite"]);
    const next = await evaluatorCli(["run", "--config", file, "--all"]);
    expect(next.status, next.stderr).toBe(0);
    expect(next.stdout).toContain("overall [95% CI]");
  }, 90_000);
});
