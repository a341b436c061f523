import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { redactedConfig } from "./gateway-config.js";
import { loadGatewayKey } from "./gateway-key-file.js";
import { loadGatewayConfig } from "./load-gateway-config.js";

const dir = () => mkdtempSync(join(tmpdir(), "pocket-gateway-config-"));

describe("gateway config", () => {
  it("has working defaults and takes POCKET_GATEWAY__* overrides", async () => {
    const config = await Effect.runPromise(
      loadGatewayConfig(undefined, {
        POCKET_GATEWAY__LISTEN__PORT: "9001",
        POCKET_GATEWAY__ADMIN_TOKEN: "a-long-enough-admin-token",
        POCKET_GATEWAY__METERING__BATCH_SIZE: "50",
        POCKET_GATEWAY__METRICS__TOKEN: "a-long-enough-scrape-token",
      }),
    );
    expect(config.metrics).toEqual({ token: "a-long-enough-scrape-token" });
    expect(config.listen).toEqual({ host: "127.0.0.1", port: 9001 });
    expect(config.metering).toEqual({ batchSize: 50, flushMs: 250 });
    // One application holds half of the upload places by default, whatever the two sizes.
    expect(config.uploadDecodes).toEqual({ concurrency: 2, queue: 16, perApplication: 9 });
    const uploads = await Effect.runPromise(
      loadGatewayConfig(undefined, { POCKET_GATEWAY__UPLOAD_DECODES__QUEUE: "0" }),
    );
    expect(uploads.uploadDecodes).toEqual({ concurrency: 2, queue: 0, perApplication: 1 });
    expect(config.portal.keys.selfServeUsdPerDay).toBe("50");
    const daily = await Effect.runPromise(
      loadGatewayConfig(undefined, { POCKET_GATEWAY__PORTAL__KEYS__SELF_SERVE_USD_PER_DAY: "12.50" }),
    );
    // An environment value is read as JSON: the number 12.5, taken as the amount it prints as.
    expect(daily.portal.keys.selfServeUsdPerDay).toBe("12.5");
    const off = await Effect.runPromise(
      loadGatewayConfig(undefined, { POCKET_GATEWAY__PORTAL__KEYS__SELF_SERVE_USD_PER_DAY: "null" }),
    );
    expect(off.portal.keys.selfServeUsdPerDay).toBeNull();
    expect(config.cors.origins).toEqual(["*"]);
    expect(config.dataDir).toBe("./.data/gateway");
    expect(config.routing.session.mode).toBe("time");
    expect(config.settlement.claimWindowMs).toBeGreaterThan(0);
    expect(JSON.stringify(redactedConfig(config))).not.toContain("a-long-enough-admin-token");
    expect(JSON.stringify(redactedConfig(config))).not.toContain("a-long-enough-scrape-token");
  });

  it("takes the database from POCKET_DATABASE_URL (SQLite without it) and never shows its password", async () => {
    const sqlite = await Effect.runPromise(loadGatewayConfig(undefined, {}));
    expect(sqlite.database.url).toBeUndefined();
    const url = "postgres://pocket:hunter2-secret@db.internal:5432/gateway";
    const config = await Effect.runPromise(loadGatewayConfig(undefined, { POCKET_DATABASE_URL: url }));
    expect(config.database).toEqual({ url, poolSize: 10, queryTimeoutMs: 60_000, migrateTimeoutMs: 600_000 });
    const explicit = await Effect.runPromise(
      loadGatewayConfig(undefined, {
        POCKET_DATABASE_URL: url,
        POCKET_GATEWAY__DATABASE__URL: "postgres://other/db",
      }),
    );
    expect(explicit.database.url).toBe("postgres://other/db");
    const shown = JSON.stringify(redactedConfig(config));
    expect(shown).not.toContain("hunter2-secret");
    expect(shown).toContain("db.internal:5432/gateway");
  });

  it("reads YAML and names each bad field", async () => {
    const file = join(dir(), "gateway.yaml");
    writeFileSync(file, "listen:\n  port: 70000\nadminToken: short\nsurprise: 1\n");
    const error = await Effect.runPromise(Effect.flip(loadGatewayConfig(file, {})));
    expect(error.problems.join("\n")).toMatch(/listen\.port/);
    expect(error.problems.join("\n")).toMatch(/adminToken/);
    expect(error.problems.join("\n")).toMatch(/surprise/);
  });

  it("refuses height-based sessions, which it cannot keep without a chain, and says what to use", async () => {
    const error = await Effect.runPromise(
      Effect.flip(
        loadGatewayConfig(undefined, {
          POCKET_GATEWAY__ROUTING__SESSION: '{"mode":"height","blocksPerSession":4,"graceBlocks":1}',
        }),
      ),
    );
    expect(error.problems).toEqual([
      expect.stringMatching(/^routing\.session: height-based sessions .*mode: "time"/),
    ]);
  });
});

describe("gateway key", () => {
  it("creates a 0600 key file on first start and reads the same key after", async () => {
    const file = join(dir(), "keys", "gateway.key");
    const created: string[] = [];
    const onCreate = (path: string, address: string) => created.push(`${path} ${address}`);
    const first = await Effect.runPromise(
      loadGatewayKey({ privateKeyFile: file, createIfMissing: true, onCreate }),
    );
    const second = await Effect.runPromise(
      loadGatewayKey({ privateKeyFile: file, createIfMissing: true, onCreate }),
    );
    // Said once, when the key was made: the address every node must be given is new.
    expect(created).toEqual([`${file} ${first.address}`]);
    expect(second.address).toBe(first.address);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8").trim()).toMatch(/^[0-9a-f]{64}$/);
  });

  it("refuses a missing file when it may not create one, and a broken one", async () => {
    const missing = await Effect.runPromise(
      Effect.flip(loadGatewayKey({ privateKeyFile: join(dir(), "none.key"), createIfMissing: false })),
    );
    expect(missing.message).toMatch(/keys generate/);
    const broken = join(dir(), "broken.key");
    writeFileSync(broken, "zz");
    const error = await Effect.runPromise(
      Effect.flip(loadGatewayKey({ privateKeyFile: broken, createIfMissing: true })),
    );
    expect(error.message).toMatch(/valid hex/);
  });
});

describe("the shipped example", () => {
  it("gateway.example.yaml is a valid config as shipped", async () => {
    const file = new URL("../../gateway.example.yaml", import.meta.url).pathname;
    const config = await Effect.runPromise(loadGatewayConfig(file, {}));
    expect(config.listen.port).toBeGreaterThan(0);
  });
});
