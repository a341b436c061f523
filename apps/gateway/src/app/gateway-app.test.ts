import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@pocket-ai/runtime";
import Database from "better-sqlite3";
import { Cause, Effect, Exit } from "effect";
import OpenAI, { type APIError } from "openai";
import { describe, expect, it } from "vitest";
import { startTestGateway, TEST_ADMIN_TOKEN } from "../../test/support/gateway-test-harness.js";
import { GatewayConfig } from "../config/gateway-config.js";
import { runAdminCommand } from "./admin-cli.js";
import { startGateway } from "./gateway-app.js";

describe("startGateway", () => {
  it("refuses a taken port before it creates a key file or a database", async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const dataDir = mkdtempSync(join(tmpdir(), "pocket-gateway-busy-"));
    try {
      const config = GatewayConfig.parse({
        listen: { host: "127.0.0.1", port: (busy.address() as AddressInfo).port },
        dataDir,
      });
      const log = createLogger({ app: "gateway-test", level: "warn", write: () => {} });
      const exit = await Effect.runPromiseExit(Effect.scoped(startGateway(config, { log })));
      expect(Exit.isFailure(exit)).toBe(true);
      if (Exit.isFailure(exit))
        expect(Cause.squash(exit.cause)).toMatchObject({
          code: "PORT_IN_USE",
          message: expect.stringMatching(
            /^PORT_IN_USE: Port \d+ .*already in use\. Set listen\.port \(env POCKET_GATEWAY__LISTEN__PORT\)/,
          ),
        });
      expect(existsSync(join(dataDir, "gateway.key"))).toBe(false);
      expect(existsSync(join(dataDir, "gateway.sqlite"))).toBe(false);
    } finally {
      await new Promise((resolve) => busy.close(resolve));
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("writes a charged relay's row at once, and the unpaid rows still queued when it shuts down", async () => {
    const t = await startTestGateway({ metering: { flushMs: 60_000, batchSize: 1000 } });
    const { openai } = await t.newKey();
    await openai.chat.completions.create({
      model: "mistral-7b",
      messages: [{ role: "user", content: "hi" }],
    });
    const file = join(t.config.dataDir, "gateway.sqlite");
    const count = () => {
      const db = new Database(file, { readonly: true });
      const n = (db.prepare("select count(*) as n from relays").get() as { n: number }).n;
      db.close();
      return n;
    };
    // Charged: in the ledger with its charge, before the answer left.
    expect(count()).toBe(1);
    t.dispatcher.failNext = "TIMEOUT";
    await openai.chat.completions
      .create({ model: "mistral-7b", messages: [{ role: "user", content: "hi" }] })
      .catch(() => undefined);
    expect(count()).toBe(1);
    await t.close({ keepData: true });
    expect(count()).toBe(2);
    rmSync(t.config.dataDir, { recursive: true, force: true });
  }, 20_000);

  it("says a stream that breaks while the gateway drains ended because the gateway is shutting down", async () => {
    const t = await startTestGateway({ drainMs: 5_000 });
    const { openai } = await t.newKey();
    t.dispatcher.stallAfterChunks = 2;
    const seen: string[] = [];
    let stalled: () => void = () => {};
    const twoChunks = new Promise<void>((resolve) => {
      stalled = resolve;
    });
    const failure = (async () => {
      const stream = await openai.chat.completions.create({
        model: "llama-2-13b",
        messages: [{ role: "user", content: "go" }],
        max_tokens: 8,
        stream: true,
      });
      for await (const chunk of stream) {
        seen.push(chunk.choices[0]?.delta.content ?? "");
        if (seen.length === 2) stalled();
      }
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    await twoChunks;
    const closed = t.close({ keepData: true });
    // The drain has begun once the server takes no new connection; then the node stops too.
    await expect
      .poll(() =>
        fetch(`${t.gateway.url}/health`).then(
          () => false,
          () => true,
        ),
      )
      .toBe(true);
    t.dispatcher.cutStalled();
    const error = await failure;
    await closed;
    expect(seen).toHaveLength(2);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as APIError).code).toBe("GATEWAY_SHUTTING_DOWN");
    expect((error as APIError).message).toMatch(
      /^the gateway is shutting down \(the connection to the node was lost\); retry/,
    );
  }, 20_000);

  it("ends every stream still open when the drain runs out with GATEWAY_SHUTTING_DOWN and [DONE], billed for what it delivered", async () => {
    const t = await startTestGateway({ drainMs: 100 });
    const { openai, key } = await t.newKey();
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    // Two content chunks, then each stream stalls: only the shutdown can end them. More than ten,
    // Node's default listener limit on the signal they all listen to.
    t.dispatcher.stallAfterChunks = 2;
    const streams = 12;
    let started = 0;
    let allStarted: () => void = () => {};
    const ready = new Promise<void>((resolve) => {
      allStarted = resolve;
    });
    const one = async () => {
      const seen: string[] = [];
      const failure = await (async () => {
        const stream = await openai.chat.completions.create({
          model: "llama-2-13b",
          messages: [{ role: "user", content: "go" }],
          max_tokens: 8,
          stream: true,
        });
        for await (const chunk of stream) {
          seen.push(chunk.choices[0]?.delta.content ?? "");
          if (seen.length === 2 && ++started === streams) allStarted();
        }
      })().then(
        () => undefined,
        (e: unknown) => e,
      );
      return { seen, failure };
    };
    const ends = Array.from({ length: streams }, one);
    await ready;
    await t.close({ keepData: true });
    process.off("warning", onWarning);
    for (const { seen, failure } of await Promise.all(ends)) {
      expect(seen).toHaveLength(2);
      expect(failure).toBeInstanceOf(OpenAI.APIError);
      expect((failure as APIError).code).toBe("GATEWAY_SHUTTING_DOWN");
      expect((failure as APIError).message).toMatch(/shutting down/);
    }
    expect(warnings).not.toContain("MaxListenersExceededWarning");
    const db = new Database(join(t.config.dataDir, "gateway.sqlite"), { readonly: true });
    try {
      const spent = db
        .prepare("select spent_micro_usd as spent, reserved_micro_usd as reserved from api_keys where id = ?")
        .get(key.id);
      const rows = db
        .prepare("select outcome, error_code as code, output_tokens as tokens from relays")
        .all();
      // 2 of 8 output tokens delivered by each: a quarter of the 750 µUSD call, rounded up.
      expect(spent).toEqual({ spent: streams * 188, reserved: 0 });
      expect(rows).toEqual(
        Array.from({ length: streams }, () => ({
          outcome: "interrupted",
          code: "STREAM_INTERRUPTED",
          tokens: 2,
        })),
      );
    } finally {
      db.close();
      rmSync(t.config.dataDir, { recursive: true, force: true });
    }
  }, 20_000);

  it("refuses a bad catalog override, a taken port and a data folder in use with a message naming what to change", async () => {
    const t = await startTestGateway();
    const own = mkdtempSync(join(tmpdir(), "pocket-gateway-start-"));
    const start = (overrides: Record<string, unknown>) =>
      Effect.runPromise(
        Effect.scoped(
          Effect.flip(
            startGateway(GatewayConfig.parse({ dataDir: own, privateKey: "11".repeat(32), ...overrides }), {
              log: {
                debug() {},
                info() {},
                warn() {},
                error() {},
                child() {
                  return this;
                },
              },
            }),
          ),
        ),
      );
    const catalog = await start({ catalog: { tiers: { "nope:standard": { priceMicroUsd: 1 } } } });
    expect(catalog.message).toMatch(/^INVALID_CONFIG: catalog/);
    const port = Number(new URL(t.gateway.url).port);
    const taken = await start({ listen: { host: "127.0.0.1", port } });
    expect(taken.message).toMatch(/^PORT_IN_USE: .*POCKET_GATEWAY__LISTEN__PORT/);
    // A second gateway on a SQLite data folder another one runs on.
    const shared = await start({ dataDir: t.config.dataDir, listen: { host: "127.0.0.1", port: 0 } });
    expect(shared.message).toBe(
      `DATA_DIR_LOCKED: another pocket-gateway (this process) is using the data folder ${t.config.dataDir}: stop it, or give this one a dataDir of its own (if no pocket-gateway runs there, delete ${join(t.config.dataDir, "pocket-gateway.lock")})`,
    );
    await t.close();
    rmSync(own, { recursive: true, force: true });
  }, 20_000);
});

describe("a gateway started with another signing key than its database's", () => {
  it("stops with INVALID_CONFIG naming both keys' roles, and starts again with the right key, state kept", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "pocket-gateway-key-"));
    const quiet = createLogger({ app: "gateway-test", level: "error", write: () => {} });
    const config = (privateKey: string) =>
      GatewayConfig.parse({
        dataDir,
        privateKey,
        adminToken: TEST_ADMIN_TOKEN,
        listen: { host: "127.0.0.1", port: 0 },
      });
    const first = "11".repeat(32);
    try {
      const appId = await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const gateway = yield* startGateway(config(first), { log: quiet });
            const created = yield* runAdminCommand(["apps", "create", "--name", "Acme"], {
              url: gateway.trpcUrl,
              token: TEST_ADMIN_TOKEN,
            });
            return /app_\w+/.exec(created)![0];
          }),
        ),
      );
      // A lost or mistyped key file (a new key is created) or a replica without the shared key.
      const refused = await Effect.runPromise(
        Effect.scoped(Effect.flip(startGateway(config("22".repeat(32)), { log: quiet }))),
      );
      expect(refused.message).toMatch(
        /^INVALID_CONFIG: this gateway's signing key \(address pokt1\w+\) is not the key/,
      );
      expect(refused.message).toContain(appId);
      expect(refused.message).toContain("POCKET_GATEWAY__PRIVATE_KEY");
      const listed = await Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const gateway = yield* startGateway(config(first), { log: quiet });
            return yield* runAdminCommand(["apps", "list"], {
              url: gateway.trpcUrl,
              token: TEST_ADMIN_TOKEN,
            });
          }),
        ),
      );
      expect(listed).toContain(appId);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 30_000);
});

describe("pocket-gateway admin", () => {
  it("creates apps and keys (evaluator role included), lists them, reports usage and revokes", async () => {
    const t = await startTestGateway();
    const api = { url: t.gateway.trpcUrl, token: TEST_ADMIN_TOKEN };
    const run = (line: string) => Effect.runPromise(runAdminCommand(line.split(" "), api));
    const created = await run("apps create --name Probe --operator ops");
    const appId = /app_\w+/.exec(created)![0];
    expect(await run("apps list")).toContain("Probe");
    const keyOut = await run(
      `keys create --app ${appId} --name eval --rpm 60 --budget-usd 1.5 --role evaluator`,
    );
    expect(keyOut).toMatch(/evaluator/);
    expect(keyOut).toMatch(/1500000/);
    const secret = keyOut.trim().split("\n").at(-1)!;
    const keyId = /key_\w+/.exec(keyOut)![0];
    const chat = () =>
      fetch(`${t.gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${secret}`,
          "content-type": "application/json",
          "x-pocket-target-node": "pokt1x",
        },
        body: JSON.stringify({ model: "llama-2-13b", messages: [{ role: "user", content: "hi" }] }),
      });
    expect((await chat()).status).toBe(200);
    // Disabled, the application's key is refused; enabled again, the same key works.
    expect(await run(`apps disable --app ${appId}`)).toMatch(/Probe\s+disabled/);
    expect((await chat()).status).toBe(401);
    expect(await run(`apps enable --app ${appId}`)).toMatch(/Probe\s+active/);
    expect((await chat()).status).toBe(200);
    await expect(Effect.runPromise(runAdminCommand(["apps", "enable"], api))).rejects.toThrow(
      /--app is required/,
    );
    const usage = await run(`usage --app ${appId}`);
    expect(usage).toMatch(/llama-2-13b\s+2\s+0/);
    expect(usage).toContain("0.0015"); // two calls at $0.00075
    // A window longer than the epoch is all of it, not a refusal naming an internal field.
    expect(await run(`usage --app ${appId} --days 100000`)).toMatch(/llama-2-13b\s+2\s+0/);
    expect(await run(`keys revoke --key ${keyId}`)).toContain("revoked");
    await expect(Effect.runPromise(runAdminCommand(["keys", "create"], api))).rejects.toThrow(
      /--app is required/,
    );
    await expect(
      Effect.runPromise(runAdminCommand(["apps", "list"], { ...api, token: "wrong-token-000000" })),
    ).rejects.toThrow(/ADMIN_UNAUTHORIZED/);
    // The gateway's OpenAI base is not its admin API: the answer says to drop /v1.
    const v1 = await Effect.runPromise(
      Effect.flip(runAdminCommand(["apps", "list"], { ...api, url: `${t.gateway.url}/v1/trpc` })),
    );
    expect(v1.message).toBe(
      `NOT_A_GATEWAY_ADMIN_API: ${t.gateway.url}/v1/trpc does not answer as a Pocket AI gateway's admin API: ` +
        "its answer (HTTP 404) is JSON of another API. " +
        `That address is under the gateway's OpenAI base (/v1) or its portal: pass the gateway's own address, --url ${t.gateway.url}`,
    );
    await t.close();
    // The gateway gone: where it was looked for and what to do, not fetch's "fetch failed".
    // (A socket fetch kept alive from the calls above is closed: UND_ERR_SOCKET; a new one refused.)
    const gone = await Effect.runPromise(Effect.flip(runAdminCommand(["apps", "list"], api)));
    expect(gone.message).toBe(
      `GATEWAY_UNREACHABLE: cannot reach the gateway's admin API at ${api.url} (${/\((\w+)\)/.exec(gone.message)?.[1]}): ` +
        "is the gateway running there? Pass --url or set POCKET_GATEWAY_URL to the one to call",
    );
    expect(gone.message).toMatch(/\((ECONNREFUSED|UND_ERR_SOCKET)\)/);
  }, 20_000);
});
