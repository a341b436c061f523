/**
 * The claim loop against a gateway that answers as the test says. The claim a node submits is the
 * one it proves: a relay of the session answered after the claim was built (admitted during the
 * grace, a long generation) must not change the tree the proof is built from when the claim step
 * is retried. And a claim that waited long for its week's rate still gets the tries a closed
 * window allows.
 */
import {
  type ClaimRoot,
  createClaimAck,
  createProofAck,
  deriveSessionId,
  type ErrorCode,
  generateKeyPair,
  generateProofSeed,
  proofLeafIndex,
  verifyClaimSubmission,
  verifyProofSubmission,
} from "@pocket-ai/protocol";
import { createLogger } from "@pocket-ai/runtime";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { openLedger } from "../../test/helpers/ledger-fixtures.js";
import { ClaimStore } from "../db/claim-store.js";
import { RelayStore } from "../db/relay-store.js";
import { GatewayCallError, type GatewayClient } from "../gateway-link/gateway-client.js";
import { makeNodeMetrics } from "../metrics/node-metrics.js";
import { claimPass } from "./claim-loop.js";

const SESSION = { mode: "time", genesisMs: 0, sessionLengthMs: 1_000_000, graceMs: 1_000 } as const;
const hash = (i: number) => i.toString(16).padStart(64, "0");
const sessionEnd = SESSION.sessionLengthMs;

/**
 * A node's ledgers, a session of it, and a gateway that refuses each claim submission with
 * `refusals` in turn, then takes it. With `losesFirstClaim`, the gateway no longer holds the first
 * claim it accepted when its proof comes (its database restored from a backup taken before): it
 * answers the proof as a gateway with no such claim does, with an INVALID_PROOF refusal.
 */
async function claimSetup(
  refusals: ErrorCode[],
  options: { readonly losesFirstClaim?: boolean; readonly logLines?: string[] } = {},
) {
  const { db, close } = await openLedger();
  const relays = new RelayStore(db);
  const claimStore = new ClaimStore(db);
  const node = generateKeyPair();
  const gatewayKey = generateKeyPair();
  const app = generateKeyPair().address;
  const sessionId = deriveSessionId(app, "llama-2-13b", 0);
  const admitted = (i: number) => ({
    requestHash: hash(i),
    sessionId,
    sessionNumber: 0,
    sessionEnd,
    serviceId: "llama-2-13b",
    tier: "standard",
    applicationAddress: app,
    gatewayAddress: gatewayKey.address,
    stream: false,
    expiresAt: sessionEnd + SESSION.graceMs,
  });
  const answer = (i: number, at: number) =>
    relays.answer(
      hash(i),
      {
        responseHash: hash(500 + i),
        leafHash: hash(1_000 + i),
        inputTokens: 10,
        outputTokens: 10,
        computeUnits: 750,
      },
      at,
    );
  const left = [...refusals];
  let stored: { root: ClaimRoot; seed: string } | undefined;
  let loses = options.losesFirstClaim === true;
  const seeds: string[] = [];
  const outcomes: string[] = [];
  const gateway: GatewayClient = {
    url: "http://gateway.invalid",
    announce: () => Effect.die("unused"),
    submitClaim: (message) =>
      Effect.suspend(() => {
        const refusal = left.shift();
        if (refusal !== undefined) {
          return Effect.fail(
            new GatewayCallError({
              gateway: "g",
              procedure: "submitClaim",
              pocketCode: refusal,
              reason: `the gateway answered ${refusal}`,
            }),
          );
        }
        const v = verifyClaimSubmission(message, { gatewayAddress: gatewayKey.address });
        if (!v.ok) return Effect.die(v.error);
        stored = stored ?? { root: v.value.submission.root, seed: generateProofSeed() };
        seeds.push(stored.seed);
        return Effect.succeed(
          createClaimAck(
            {
              status: "accepted",
              proofSeed: stored.seed,
              nodeAddress: node.address,
              sessionId,
              root: stored.root,
              issuedAt: 0,
            },
            gatewayKey,
          ),
        );
      }),
    submitProof: (message) =>
      Effect.suspend(() => {
        if (loses) {
          loses = false;
          stored = undefined;
        }
        if (stored === undefined) {
          outcomes.push("no claim");
          return Effect.fail(
            new GatewayCallError({
              gateway: "g",
              procedure: "submitProof",
              pocketCode: "INVALID_PROOF",
              reason: `node ${node.address} has no claim for session ${sessionId}; submit the claim first`,
            }),
          );
        }
        const checked = verifyProofSubmission(message, {
          gatewayAddress: gatewayKey.address,
          claim: stored!.root,
          leafIndex: proofLeafIndex(stored!.seed, stored!.root),
        });
        outcomes.push(checked.ok ? "proven" : `rejected: ${checked.error.detail}`);
        const about = { nodeAddress: node.address, sessionId, root: stored!.root, issuedAt: 0 };
        return Effect.succeed(
          checked.ok
            ? createProofAck({ status: "proven", mintedUpokt: "9000", ...about }, gatewayKey)
            : createProofAck(
                { status: "rejected", mintedUpokt: "0", detail: checked.error.code, ...about },
                gatewayKey,
              ),
        );
      }),
  };
  const pass = (now: number) =>
    Effect.runPromise(
      claimPass({
        key: node,
        relays,
        claims: claimStore,
        session: SESSION,
        gateways: new Map([[gatewayKey.address, gateway]]),
        metrics: makeNodeMetrics(),
        log: createLogger({
          app: "node",
          level: options.logLines === undefined ? "error" : "info",
          write: (line) => options.logLines?.push(line),
        }),
        now: () => now,
        keepSettledMs: 10 * 86_400_000,
        orphansSaid: new Set(),
      }),
    );
  return { relays, claimStore, sessionId, gatewayKey, admitted, answer, pass, outcomes, seeds, close };
}

describe("a claim retried after a relay of its session was answered late", () => {
  it("is proven from the relays it was built from, and the late one is in no claim", async () => {
    // A gateway that says RATE_NOT_SET once, then stores the claim and checks the proof against it.
    const t = await claimSetup(["RATE_NOT_SET"]);
    // Three relays served in the session; one admitted during the grace is still running.
    await Effect.runPromise(
      Effect.gen(function* () {
        // The late relay's request hash sorts first: only the order rows were written in tells.
        for (let i = 1; i <= 3; i++) {
          expect(yield* t.relays.admit(t.admitted(i), 500_000)).toBe(true);
          yield* t.answer(i, 500_001);
        }
        expect(yield* t.relays.admit(t.admitted(0), sessionEnd + 500)).toBe(true);
      }),
    );

    // Pass 1, just after the grace: the claim is built over the 3 answered relays; RATE_NOT_SET.
    await t.pass(sessionEnd + SESSION.graceMs + 500);
    expect(t.claimStore.all()[0]).toMatchObject({ status: "built", relayCount: 3 });
    // The relay admitted during the grace finishes now (an ordinary long generation).
    await Effect.runPromise(t.answer(0, sessionEnd + SESSION.graceMs + 2_000));
    expect(t.relays.leaves(t.sessionId, t.gatewayKey.address)).toHaveLength(4);
    // Pass 2: the stored 3-relay root is claimed and proven from those three relays.
    await t.pass(sessionEnd + SESSION.graceMs + 60_000);
    expect(t.outcomes).toEqual(["proven"]);
    expect(t.claimStore.all()[0]).toMatchObject({ status: "proven", mintedUpokt: "9000", relayCount: 3 });
    await t.close();
  });
});

/** {@link claimSetup} with one relay of the session answered. */
async function oneRelayClaim(
  refusals: ErrorCode[],
  options: { readonly losesFirstClaim?: boolean; readonly logLines?: string[] } = {},
) {
  const t = await claimSetup(refusals, options);
  await Effect.runPromise(
    Effect.gen(function* () {
      expect(yield* t.relays.admit(t.admitted(1), 500_000)).toBe(true);
      yield* t.answer(1, 500_001);
    }),
  );
  return t;
}

/**
 * `passes` claim passes from just after the grace, each once the claim's backoff (at most 10
 * minutes) has passed, the claim row after pass `i` matching `after(i)`; the time of the next pass.
 */
async function refusedPasses(
  t: Awaited<ReturnType<typeof claimSetup>>,
  passes: number,
  after: (i: number) => Record<string, unknown>,
  from = sessionEnd + SESSION.graceMs + 500,
): Promise<number> {
  let now = from;
  for (let i = 0; i < passes; i++) {
    await t.pass(now);
    expect(t.claimStore.all()[0]).toMatchObject(after(i));
    now += 11 * 60_000;
  }
  return now;
}

describe("a claim refused for its window in the first minutes after it opened", () => {
  it("is not given up: the gateway's clock may be behind the node's", async () => {
    const t = await oneRelayClaim(Array<ErrorCode>(6).fill("CLAIM_WINDOW_CLOSED"));
    // Six passes 90 s apart from the window's opening by the node's clock: each refused early.
    let now = sessionEnd + SESSION.graceMs + 500;
    for (let i = 0; i < 6; i++) {
      await t.pass(now);
      expect(t.claimStore.all()[0]).toMatchObject({ status: "built", attempts: i + 1, windowRefusals: 0 });
      now += 90_000;
    }
    await t.pass(now + 10 * 60_000);
    expect(t.outcomes).toEqual(["proven"]);
    await t.close();
  });
});

describe("a claim the gateway says is early (CLAIM_WINDOW_NOT_OPEN)", () => {
  it("is never given up for it, however late its window is by the node's clock", async () => {
    // A gateway whose clock is far behind: past the node's first minutes, eight early answers.
    const t = await oneRelayClaim(Array<ErrorCode>(8).fill("CLAIM_WINDOW_NOT_OPEN"));
    const late = sessionEnd + SESSION.graceMs + 10 * 60_000 + 500;
    const now = await refusedPasses(
      t,
      8,
      (i) => ({ status: "built", attempts: i + 1, windowRefusals: 0 }),
      late,
    );
    await t.pass(now);
    expect(t.outcomes).toEqual(["proven"]);
    expect(t.claimStore.all()[0]).toMatchObject({ status: "proven", mintedUpokt: "9000", relayCount: 1 });
    await t.close();
  });
});

describe("a claim that waited for its week's rate", () => {
  it("still gets the tries a closed window allows: one CLAIM_WINDOW_CLOSED does not give it up", async () => {
    // Many passes without a rate (the week's rate set days late), then one replica still answering
    // by an older rule that the window closed, then a gateway that takes the claim.
    const t = await oneRelayClaim([...Array<ErrorCode>(8).fill("RATE_NOT_SET"), "CLAIM_WINDOW_CLOSED"]);
    const now = await refusedPasses(t, 9, (i) => ({ status: "built", attempts: i + 1 }));
    expect(t.claimStore.all()[0]).toMatchObject({ windowRefusals: 1 });
    await t.pass(now);
    expect(t.outcomes).toEqual(["proven"]);
    expect(t.claimStore.all()[0]).toMatchObject({ status: "proven", mintedUpokt: "9000", relayCount: 1 });
    await t.close();
  });

  it("is given up after the fifth CLAIM_WINDOW_CLOSED", async () => {
    const t = await oneRelayClaim(Array<ErrorCode>(5).fill("CLAIM_WINDOW_CLOSED"));
    // Past the first ten minutes of the window by the node's clock: each refusal counts.
    const late = sessionEnd + SESSION.graceMs + 10 * 60_000 + 500;
    const now = await refusedPasses(t, 4, (i) => ({ status: "built", windowRefusals: i + 1 }), late);
    await t.pass(now);
    expect(t.claimStore.all()[0]).toMatchObject({ status: "rejected", mintedUpokt: "0" });
    expect(t.outcomes).toEqual([]);
    await t.close();
  });
});

describe("a claim its gateway no longer holds when the proof comes", () => {
  it("is claimed again and proven, not retried as a proof for ever", async () => {
    const t = await oneRelayClaim([], { losesFirstClaim: true });
    // Pass 1: the claim is accepted; its proof finds no claim at the gateway.
    const first = sessionEnd + SESSION.graceMs + 500;
    await t.pass(first);
    expect(t.outcomes).toEqual(["no claim"]);
    // The passes that follow, each once the backoff has passed: the claim is sent again, under the
    // gateway's new seed, and proven.
    let now = first;
    for (let i = 0; i < 3 && t.claimStore.all()[0]?.status !== "proven"; i++) {
      now += 11 * 60_000;
      await t.pass(now);
    }
    expect(t.seeds).toHaveLength(2);
    expect(t.outcomes).toEqual(["no claim", "proven"]);
    expect(t.claimStore.all()[0]).toMatchObject({
      status: "proven",
      mintedUpokt: "9000",
      proofSeed: t.seeds[1],
    });
    await t.close();
  });
});

describe("a claim its gateway refuses for good", () => {
  it("is logged as a warning with the gateway's code and reason, so its runner sees why it was not paid", async () => {
    const logLines: string[] = [];
    const t = await oneRelayClaim(["INVALID_CLAIM"], { logLines });
    await t.pass(sessionEnd + SESSION.graceMs + 500);
    expect(t.claimStore.all()[0]).toMatchObject({ status: "rejected", mintedUpokt: "0" });
    const rejected = logLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry.msg === "claim rejected");
    expect(rejected).toEqual([
      expect.objectContaining({
        level: "warn",
        code: "INVALID_CLAIM",
        sessionId: t.sessionId,
        reason: "INVALID_CLAIM: the gateway answered INVALID_CLAIM",
      }),
    ]);
    await t.close();
  });
});
