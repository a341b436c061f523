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
import { type ClaimLoopDeps, claimPass, resumeClaims } from "./claim-loop.js";

const SESSION = { mode: "time", genesisMs: 0, sessionLengthMs: 1_000_000, graceMs: 1_000 } as const;
const hash = (i: number) => i.toString(16).padStart(64, "0");
const MINUTE = 60_000;
const DAY = 86_400_000;
const KEEP_SETTLED_MS = 10 * MINUTE;
/** The last instant a gateway may still take the session's claim. */
const windowEnds = SESSION.sessionLengthMs + SESSION.graceMs + MAX_CLAIM_WINDOW_MS;

/** A ledger with one ended session of three answered relays for `gateway`, and claim passes over it. */
async function orphanSetup() {
  const { db, close } = await openLedger();
  const relays = new RelayStore(db);
  const claims = new ClaimStore(db);
  const node = generateKeyPair();
  const gateway = generateKeyPair().address; // served once, then removed from the config
  const app = generateKeyPair().address;
  const sessionId = deriveSessionId(app, "llama-2-13b", 0);
  await Effect.runPromise(
    Effect.gen(function* () {
      for (let i = 0; i < 3; i++) {
        yield* relays.admit(
          {
            requestHash: hash(i),
            sessionId,
            sessionNumber: 0,
            sessionEnd: SESSION.sessionLengthMs,
            serviceId: "llama-2-13b",
            tier: "standard",
            applicationAddress: app,
            gatewayAddress: gateway,
            stream: false,
            expiresAt: SESSION.sessionLengthMs + SESSION.graceMs,
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
    }),
  );
  const warnings: { code?: string }[] = [];
  const log = createLogger({
    app: "node",
    level: "warn",
    write: (line) => warnings.push(JSON.parse(line) as { code?: string }),
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
  });
  const pass = (now: number, gateways?: ReadonlyMap<string, GatewayClient>) =>
    Effect.runPromise(claimPass(deps(now, gateways)));
  const codes = () => warnings.map((w) => w.code);
  const claim = () => claims.all()[0];
  return { relays, claims, gateway, sessionId, deps, pass, codes, claim, close };
}

describe("a claim whose gateway is not in the config", () => {
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
