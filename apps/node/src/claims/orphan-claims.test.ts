/**
 * Claims no configured gateway can take: a gateway removed from the node's config, or any gateway
 * of a node with `gateways: []` (it serves every gateway and registers with none). Such a claim
 * waits, said once, until the longest claim window a gateway opens has passed, is then given up,
 * said once, and its relay rows are pruned. A node started with the gateway back in its config
 * sends it at once.
 */
import { deriveSessionId, generateKeyPair, MAX_CLAIM_WINDOW_MS } from "@pocket-ai/protocol";
import { createLogger } from "@pocket-ai/runtime";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { openLedger } from "../../test/helpers/ledger-fixtures.js";
import { ClaimStore } from "../db/claim-store.js";
import { RelayStore } from "../db/relay-store.js";
import { GatewayCallError, type GatewayClient } from "../gateway-link/gateway-client.js";
import { makeNodeMetrics } from "../metrics/node-metrics.js";
import { type ClaimLoopDeps, claimPass, ORPHAN_CAUSES_KEPT, resumeClaims } from "./claim-loop.js";

const SESSION = { mode: "time", genesisMs: 0, sessionLengthMs: 1_000_000, graceMs: 1_000 } as const;
const hash = (i: number) => i.toString(16).padStart(64, "0");
const MINUTE = 60_000;
const DAY = 86_400_000;
const KEEP_SETTLED_MS = 10 * MINUTE;
/** The last instant a gateway may still take the session's claim. */
const windowEnds = SESSION.sessionLengthMs + SESSION.graceMs + MAX_CLAIM_WINDOW_MS;

/**
 * A ledger with ended sessions of three answered relays each (by default session 0 for one
 * `gateway`; `served` lists others: a session number and which of `gateways` it was for), and
 * claim passes over it.
 */
async function orphanSetup(
  served: readonly (readonly [session: number, gateway: number])[] = [[0, 0]],
  gatewayCount = 2,
) {
  const { db, close } = await openLedger();
  const relays = new RelayStore(db);
  const claims = new ClaimStore(db);
  const node = generateKeyPair();
  // Served, then removed from the config (or any keys, for a node with `gateways: []`).
  const gateways = Array.from({ length: gatewayCount }, () => generateKeyPair().address);
  const gateway = gateways[0]!;
  const app = generateKeyPair().address;
  const sessionId = deriveSessionId(app, "llama-2-13b", 0);
  let n = 0;
  await Effect.runPromise(
    Effect.gen(function* () {
      for (const [session, which] of served) {
        for (let i = n; i < n + 3; i++) {
          yield* relays.admit(
            {
              requestHash: hash(i),
              sessionId: deriveSessionId(app, "llama-2-13b", session),
              sessionNumber: session,
              sessionEnd: (session + 1) * SESSION.sessionLengthMs,
              serviceId: "llama-2-13b",
              tier: "standard",
              applicationAddress: app,
              gatewayAddress: gateways[which]!,
              stream: false,
              expiresAt: (session + 1) * SESSION.sessionLengthMs + SESSION.graceMs,
            },
            1,
          );
          yield* relays.answer(
            hash(i),
            {
              responseHash: hash(100 + i),
              leafHash: hash(200 + i),
              inputTokens: 1,
              outputTokens: 1,
              computeUnits: 750,
            },
            2,
          );
        }
        n += 3;
      }
    }),
  );
  const warnings: { code?: string; gateway?: string }[] = [];
  const orphansSaid = new Set<string>(); // one process's, across its passes
  const log = createLogger({
    app: "node",
    level: "warn",
    write: (line) => warnings.push(JSON.parse(line) as { code?: string; gateway?: string }),
  });
  const deps = (now: number, gateways: ReadonlyMap<string, GatewayClient> = new Map()): ClaimLoopDeps => ({
    key: node,
    relays,
    claims,
    session: SESSION,
    gateways,
    metrics: makeNodeMetrics(),
    log,
    now: () => now,
    keepSettledMs: KEEP_SETTLED_MS,
    orphansSaid,
  });
  const pass = (now: number, gateways?: ReadonlyMap<string, GatewayClient>) =>
    Effect.runPromise(claimPass(deps(now, gateways)));
  const codes = () => warnings.map((w) => w.code);
  const claim = () => claims.all()[0];
  return {
    relays,
    claims,
    gateway,
    gateways,
    sessionId,
    deps,
    pass,
    codes,
    warnings,
    claim,
    orphansSaid,
    close,
  };
}

describe("a claim whose gateway is not in the config", () => {
  it("is a warning once per gateway and cause in a process, however many sessions it served", async () => {
    // A node with `gateways: []` serving two gateways: one for five sessions, one for one.
    const s = await orphanSetup([
      [0, 0],
      [1, 0],
      [2, 1],
      [3, 0],
      [4, 0],
      [5, 0],
    ]);
    const [a, b] = s.gateways;
    const said = () =>
      s.warnings.map((w) => `${w.code} ${w.gateway === a ? "a" : w.gateway === b ? "b" : "?"}`);
    const lastWindowEnds = windowEnds + 5 * SESSION.sessionLengthMs;
    for (let now = 7 * SESSION.sessionLengthMs; now < lastWindowEnds; now += DAY) await s.pass(now);
    await s.pass(lastWindowEnds);
    expect(s.claims.all().map((c) => c.status)).toEqual(Array(6).fill("rejected"));
    expect(said().sort()).toEqual([
      "CLAIM_ABANDONED a",
      "CLAIM_ABANDONED b",
      "CLAIM_GATEWAY_NOT_CONFIGURED a",
      "CLAIM_GATEWAY_NOT_CONFIGURED b",
    ]);
    await s.close();
  });

  // A thousand sessions built, claimed and refused: seconds on an idle machine, more on a busy one.
  it("remembers a bounded number of gateways, however many keys signed the relays of a node with gateways: []", async () => {
    const count = ORPHAN_CAUSES_KEPT + 50;
    const s = await orphanSetup(
      Array.from({ length: count }, (_, i) => [0, i] as const),
      count,
    );
    await s.pass(2 * SESSION.sessionLengthMs);
    expect(s.claims.all()).toHaveLength(count);
    expect(s.codes().filter((code) => code === "CLAIM_GATEWAY_NOT_CONFIGURED")).toHaveLength(count);
    expect(s.orphansSaid.size).toBeLessThanOrEqual(ORPHAN_CAUSES_KEPT);
    await s.close();
  }, 120_000);

  it("waits, said once, until no gateway would take it, is then given up, said once, and its rows are pruned", async () => {
    const s = await orphanSetup();
    // Two days of claim passes, one every 10 minutes (the claim loop's longest backoff).
    const firstPass = 2 * SESSION.sessionLengthMs;
    for (let now = firstPass; now < firstPass + 2 * DAY; now += 10 * MINUTE) await s.pass(now);
    expect(s.codes()).toEqual(["CLAIM_GATEWAY_NOT_CONFIGURED"]);
    expect(s.claim()).toMatchObject({ status: "built", attempts: 0, nextAttemptAt: windowEnds });
    expect(s.claims.due(windowEnds - 1)).toHaveLength(0);
    // A day at a time, until the last instant a gateway could take it: it stays, and is not said again.
    for (let now = firstPass + 2 * DAY; now < windowEnds; now += DAY) await s.pass(now);
    await s.pass(windowEnds - 1);
    expect(s.claim()?.status).toBe("built");
    expect(s.relays.leaves(s.sessionId, s.gateway)).toHaveLength(3);
    expect(s.codes()).toEqual(["CLAIM_GATEWAY_NOT_CONFIGURED"]);

    await s.pass(windowEnds);
    expect(s.claim()).toMatchObject({ status: "rejected", mintedUpokt: "0" });
    expect(s.claim()?.lastError).toMatch(/^CLAIM_ABANDONED: /);
    expect(s.codes()).toEqual(["CLAIM_GATEWAY_NOT_CONFIGURED", "CLAIM_ABANDONED"]);
    // Pruned as a settled claim's rows are; the session leaves the claim search with them.
    await s.pass(windowEnds + KEEP_SETTLED_MS);
    expect(s.relays.leaves(s.sessionId, s.gateway)).toHaveLength(0);
    expect(s.relays.unclaimedSessions(Number.MAX_SAFE_INTEGER)).toHaveLength(0);
    for (let now = windowEnds + KEEP_SETTLED_MS; now < windowEnds + DAY; now += 10 * MINUTE)
      await s.pass(now);
    expect(s.codes()).toEqual(["CLAIM_GATEWAY_NOT_CONFIGURED", "CLAIM_ABANDONED"]);
    expect(s.claims.all()).toHaveLength(1);
    await s.close();
  });

  it("is sent at once by a node started with the gateway back in its config", async () => {
    const s = await orphanSetup();
    await s.pass(2 * SESSION.sessionLengthMs);
    expect(s.claim()?.nextAttemptAt).toBe(windowEnds);
    const submitted: string[] = [];
    const back: GatewayClient = {
      url: "http://gateway.invalid",
      announce: () => Effect.die("unused"),
      submitClaim: (message) =>
        Effect.suspend(() => {
          submitted.push(message.header.sessionId);
          return Effect.fail(
            new GatewayCallError({
              gateway: "g",
              procedure: "submitClaim",
              pocketCode: "RATE_NOT_SET",
              coded: true,
              reason: "the week's rate is not set",
            }),
          );
        }),
      submitProof: () => Effect.die("unused"),
    };
    const gateways = new Map([[s.gateway, back]]);
    const restartAt = 5 * DAY;
    // Started again without it: the claim keeps waiting, unsaid.
    await Effect.runPromise(resumeClaims(s.deps(restartAt)));
    await s.pass(restartAt);
    expect(s.claim()?.nextAttemptAt).toBe(windowEnds);
    // Started again with it: sent at the first pass, then retried as any claim is.
    await Effect.runPromise(resumeClaims(s.deps(restartAt, gateways)));
    await s.pass(restartAt, gateways);
    expect(submitted).toEqual([s.sessionId]);
    expect(s.claim()).toMatchObject({ status: "built", attempts: 1 });
    expect(s.claim()?.nextAttemptAt).toBeLessThan(restartAt + 10 * MINUTE + 1);
    // Its wait was said once; the failed try is logged as any claim's is.
    expect(s.codes().filter((code) => code !== undefined)).toEqual(["CLAIM_GATEWAY_NOT_CONFIGURED"]);
    await s.close();
  });
});
