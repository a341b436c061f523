import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type GatewayAppRouter, GatewayConfig, startGateway } from "@pocket-ai/gateway";
import { NodeConfig, startNode } from "@pocket-ai/node";
import { createLogger } from "@pocket-ai/runtime";
import { createTRPCClient, httpLink } from "@trpc/client";
import { Clock, Effect, Either, Exit, Layer, Scope } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import type { EvaluatedNode } from "../src/config/evaluator-config.js";
import { EvaluatorStore } from "../src/db/evaluator-store.js";
import { itemResults } from "../src/db/schema.js";
import { makeOpenAiTransport } from "../src/probe/openai-transport.js";
import { ProbeTransport } from "../src/probe/probe-transport.js";
import { runNode } from "../src/runs/run-node.js";
import { SMALL_TEXT_RUN } from "./run-settings.js";

const ADMIN_TOKEN = "rate-limited-key-admin-token";
/** Identity samples only: ten, each a relay to the node and three to the reference, one key. */
const settings = { ...SMALL_TEXT_RUN, identityPrompts: 10, speedProbes: 0, itemsPerTask: 0 };

/**
 * A real gateway and nodes on one clock the test moves (`time.at`), two real nodes on the development backend
 * (one evaluated, one the reference) and an evaluator key with role evaluator and a small rpm.
 */
async function startNetwork(rpm: number) {
  const dir = mkdtempSync(join(tmpdir(), "pocket-ratelimit-"));
  // A clock the test sets (the gateway's test support has the same; another app's files are not
  // imported here).
  const time = { at: Date.now() };
  const real = Clock.make();
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => time.at,
    currentTimeMillis: Effect.sync(() => time.at),
    unsafeCurrentTimeNanos: () => BigInt(time.at) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(time.at) * 1_000_000n),
    sleep: (duration) => real.sleep(duration),
  };
  const session = {
    mode: "time" as const,
    genesisMs: time.at - 1_000,
    sessionLengthMs: 3_600_000,
    graceMs: 600_000,
  };
  const scope = Effect.runSync(Scope.make());
  const log = createLogger({ app: "test", level: "error" });
  const gateway = await Effect.runPromise(
    startGateway(
      GatewayConfig.parse({
        listen: { host: "127.0.0.1", port: 0 },
        dataDir: join(dir, "gateway"),
        adminToken: ADMIN_TOKEN,
        // The nodes listen on loopback.
        routing: { session, healthCheckMs: 600_000, announceEveryMs: 3_600_000, allowPrivateEndpoints: true },
        metering: { flushMs: 20 },
        drainMs: 2_000,
      }),
      { log },
    ).pipe(Effect.withClock(clock), Scope.extend(scope)),
  );
  const nodes: string[] = [];
  for (const name of ["node", "reference"]) {
    const node = await Effect.runPromise(
      startNode(
        NodeConfig.parse({
          listen: { host: "127.0.0.1", port: 0 },
          dataDir: join(dir, name),
          gateways: [{ url: gateway.trpcUrl, address: gateway.key.address }],
          session,
          shutdownDrainMs: 500,
          logLevel: "error",
          services: [{ serviceId: "llama-2-13b", tiers: ["standard"], backends: [{ kind: "dev" }] }],
        }),
        { log, claimLoop: false },
      ).pipe(Effect.withClock(clock), Scope.extend(scope)),
    );
    nodes.push(node.key.address);
  }
  const admin = createTRPCClient<GatewayAppRouter>({
    links: [httpLink({ url: gateway.trpcUrl, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })],
  });
  for (;;) {
    const listed = await admin.admin.nodes.list.query();
    if (
      nodes.every((a) => listed.some((n) => n.address === a && (n.state === "up" || n.state === "unprobed")))
    )
      break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const app = await admin.admin.applications.create.mutate({ name: "evaluator" });
  const key = await admin.admin.keys.create.mutate({ applicationId: app.id, name: "evaluator", rpm });
  await admin.admin.keyRoles.set.mutate({ keyId: key.key.id, role: "evaluator" });
  const transport = () =>
    makeOpenAiTransport({ baseUrl: `${gateway.url}/v1`, apiKey: key.secret, timeoutMs: 30_000, headers: {} });
  return {
    time,
    transport,
    node: nodes[0]!,
    reference: nodes[1]!,
    close: async () => {
      await Effect.runPromise(Scope.close(scope, Exit.void));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup.length = 0;
});

describe("an evaluator key that reaches its gateway rate limit", () => {
  it("waits out the gateway's Retry-After and sends the probe again, so the model test keeps its samples", async () => {
    const net = await startNetwork(12);
    cleanup.push(net.close);
    const node: EvaluatedNode = {
      address: net.node,
      serviceId: "llama-2-13b",
      model: "llama-2-13b",
      declaredModel: "llama-2-13b",
      kind: "text",
    };
    const waits: number[] = [];
    const transport = net.transport();
    const outcome = await Effect.runPromise(
      Effect.gen(function* () {
        const entry = yield* runNode({
          node,
          tasks: [],
          settings,
          reference: { transport, model: "llama-2-13b", targetNode: net.reference },
          // The wait the gateway asked for passes on its clock: its rpm window makes room.
          waitRetryAfter: (ms) =>
            Effect.sync(() => {
              waits.push(ms);
              net.time.at += ms;
            }),
        });
        const s = yield* EvaluatorStore;
        return { entry, rows: s.db.select().from(itemResults).all() };
      }).pipe(
        Effect.provide(
          Layer.merge(
            EvaluatorStore.layer(join(mkdtempSync(join(tmpdir(), "pocket-ratelimit-eval-")), "e.sqlite")),
            Layer.succeed(ProbeTransport, transport),
          ),
        ),
      ),
    );
    // 40 relays under a 12 rpm key: the gateway refused some, and each was asked again after its
    // delay, so every identity sample was taken and the model test ran.
    expect(outcome.rows.filter((r) => r.errorCode === "RATE_LIMITED")).toEqual([]);
    expect(outcome.rows.filter((r) => r.category === "model" && r.status === "scored")).toHaveLength(10);
    expect(outcome.entry.identity.modelTest).not.toBe("untested");
    expect(waits.length).toBeGreaterThan(0);
    expect(waits.every((ms) => ms > 0 && ms <= 60_000)).toBe(true);
  }, 120_000);

  it("stops the run when the gateway keeps refusing after the waits, so no entry drops the node's findings", async () => {
    const net = await startNetwork(12);
    cleanup.push(net.close);
    const node: EvaluatedNode = {
      address: net.node,
      serviceId: "llama-2-13b",
      model: "llama-2-13b",
      declaredModel: "llama-2-13b",
      kind: "text",
    };
    const transport = net.transport();
    let waits = 0;
    const stopped = await Effect.runPromise(
      Effect.gen(function* () {
        // The gateway's window never moves: every wait ends with the window still full.
        const outcome = yield* Effect.either(
          runNode({
            node,
            tasks: [],
            settings,
            reference: { transport, model: "llama-2-13b", targetNode: net.reference },
            waitRetryAfter: () => Effect.sync(() => void waits++),
          }),
        );
        const s = yield* EvaluatorStore;
        return { outcome, board: s.board(), rows: s.db.select().from(itemResults).all() };
      }).pipe(
        Effect.provide(
          Layer.merge(
            EvaluatorStore.layer(join(mkdtempSync(join(tmpdir(), "pocket-ratelimit-eval-")), "e.sqlite")),
            Layer.succeed(ProbeTransport, transport),
          ),
        ),
      ),
    );
    expect(Either.isLeft(stopped.outcome) && stopped.outcome.left).toMatchObject({
      _tag: "GatewayUnavailable",
      code: "RATE_LIMITED",
    });
    expect(waits).toBe(3);
    expect(stopped.rows.filter((r) => r.errorCode === "RATE_LIMITED")).toEqual([]);
    expect(stopped.board).toEqual([]);
  }, 120_000);
});
