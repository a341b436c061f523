/**
 * Claims that can never be paid end: one its gateway refuses with a code no later try changes (its
 * key changed, a signature or shape it does not read), and one whose gateway stays unreachable past
 * the claim's last window. Each is rejected, said once with what its runner can do, counted, and
 * its relay rows pruned as a settled claim's. What can still succeed is retried. The gateway is a
 * loopback tRPC server answering with the protocol's codes; the ledger a SQLite file.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { CodedFailure } from "@pocket-ai/link";
import { deriveSessionId, generateKeyPair, MAX_CLAIM_WINDOW_MS } from "@pocket-ai/protocol";
import { createLogger } from "@pocket-ai/runtime";
import { Effect } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { insertAnsweredRows } from "../../test/helpers/claim-rows.js";
import { startFakeGateway } from "../../test/helpers/fake-gateway.js";
import { openLedger } from "../../test/helpers/ledger-fixtures.js";
import { ClaimStore } from "../db/claim-store.js";
import { RelayStore } from "../db/relay-store.js";
import { makeGatewayClient } from "../gateway-link/gateway-client.js";
import { makeNodeMetrics } from "../metrics/node-metrics.js";
import { claimPass } from "./claim-loop.js";

const SESSION = { mode: "time", genesisMs: 0, sessionLengthMs: 1_000_000, graceMs: 1_000 } as const;
const MINUTE = 60_000;
const KEEP_SETTLED_MS = 10 * MINUTE;
const sessionEnd = SESSION.sessionLengthMs;
/** The first pass after the session's grace. */
const first = sessionEnd + SESSION.graceMs + 500;
/** The last instant a gateway may still take the session's claim. */
const windowEnds = sessionEnd + SESSION.graceMs + MAX_CLAIM_WINDOW_MS;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A URL on the loopback interface where nothing listens any more. */
async function closedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/trpc`;
}

/**
 * A node's ledger with one ended session of three answered relays, signed for `gatewayAddress`,
 * whose claims go to `url`; claim passes at a given time, and the node's warnings.
 */
async function claimingNode(gatewayAddress: string, url: string) {
  const { db, close } = await openLedger();
  cleanups.push(close);
  const relays = new RelayStore(db);
  const claims = new ClaimStore(db);
  const app = generateKeyPair().address;
  const sessionId = deriveSessionId(app, "llama-2-13b", 0);
  insertAnsweredRows(
    db,
    {
      sessionId,
      gatewayAddress,
      applicationAddress: app,
      serviceId: "llama-2-13b",
      sessionNumber: 0,
      sessionEnd,
    },
    3,
  );
  const warnings: Record<string, unknown>[] = [];
  const metrics = makeNodeMetrics();
  const node = generateKeyPair();
  const gateways = new Map([[gatewayAddress, makeGatewayClient(url)]]);
  const pass = (now: number) =>
    Effect.runPromise(
      claimPass({
        key: node,
        relays,
        claims,
        session: SESSION,
        gateways,
        metrics,
        log: createLogger({
          app: "node",
          level: "warn",
          write: (line) => warnings.push(JSON.parse(line) as Record<string, unknown>),
        }),
        now: () => now,
        keepSettledMs: KEEP_SETTLED_MS,
        orphansSaid: new Set(),
      }),
    );
  const claim = () => claims.all()[0];
  const rows = () => relays.leaves(sessionId, gatewayAddress).length;
  const rejections = () => warnings.filter((w) => w.msg === "claim rejected");
  const counted = (status: string) => metrics.claims.get({ gateway: gatewayAddress, status });
  return { claims, pass, claim, rows, warnings, rejections, counted, sessionId };
}

describe("a claim its gateway refuses with a code no later try changes", () => {
  it("addressed to a gateway key that changed (ADDRESS_MISMATCH): rejected, said once, and its rows pruned", async () => {
    // The gateway runs with a new key; the session's relays were signed by its old one.
    const rotated = await startFakeGateway(SESSION);
    cleanups.push(rotated.close);
    const oldKey = generateKeyPair();
    const n = await claimingNode(oldKey.address, rotated.link.url);

    await n.pass(first);
    expect(n.claim()).toMatchObject({ status: "rejected", mintedUpokt: "0" });
    expect(n.claim()?.lastError).toMatch(/^ADDRESS_MISMATCH: /);
    expect(n.rejections()).toEqual([
      expect.objectContaining({
        level: "warn",
        code: "ADDRESS_MISMATCH",
        sessionId: n.sessionId,
        action: expect.stringContaining("check the gateway's address in gateways"),
      }),
    ]);
    expect(n.counted("rejected")).toBe(1);
    // Not sent again, not said again; its rows go as a settled claim's do.
    for (let now = first + 11 * MINUTE; now <= first + 11 * MINUTE + KEEP_SETTLED_MS; now += 11 * MINUTE)
      await n.pass(now);
    expect(rotated.received.claims).toBe(1);
    expect(n.rejections()).toHaveLength(1);
    expect(n.rows()).toBe(0);
  });

  it.each([
    ["INVALID_SIGNATURE", "same protocol version"],
    ["MALFORMED_ENVELOPE", "upgrade the node"],
  ] as const)(
    "refused with %s (another protocol version): retried with what to do, proven once the gateway takes it",
    async (code, action) => {
      const refusal: CodedFailure = { code, message: `the gateway answered ${code}` };
      // Refused twice (the node not upgraded yet), then taken.
      const gateway = await startFakeGateway(SESSION, { claimRefusals: [refusal, refusal] });
      cleanups.push(gateway.close);
      const n = await claimingNode(gateway.key.address, gateway.link.url);
      await n.pass(first);
      expect(n.claim()).toMatchObject({ status: "built", attempts: 1 });
      expect(n.warnings).toContainEqual(
        expect.objectContaining({
          msg: "claim step failed; will retry",
          code,
          action: expect.stringContaining(action),
        }),
      );
      await n.pass(first + 11 * MINUTE);
      await n.pass(first + 22 * MINUTE);
      expect(n.claim()).toMatchObject({ status: "proven" });
      expect(n.rejections()).toHaveLength(0);
    },
  );

  it("refused so until its last window closes: then given up as expired", async () => {
    const refusal: CodedFailure = { code: "MALFORMED_ENVELOPE", message: "unreadable claim" };
    const gateway = await startFakeGateway(SESSION, { claimRefusals: Array(4).fill(refusal) });
    cleanups.push(gateway.close);
    const n = await claimingNode(gateway.key.address, gateway.link.url);
    await n.pass(first);
    await n.pass(windowEnds - 1);
    expect(n.claim()).toMatchObject({ status: "built", attempts: 2 });
    await n.pass(windowEnds + 11 * MINUTE);
    expect(n.claim()).toMatchObject({ status: "rejected", mintedUpokt: "0" });
    expect(n.claim()?.lastError).toMatch(/^CLAIM_EXPIRED: .*submitClaim.*protocol schema/);
    expect(n.counted("expired")).toBe(1);
  });

  it("a proof refused so: proven again later, not given up at once", async () => {
    const refusal: CodedFailure = { code: "MALFORMED_ENVELOPE", message: "unreadable proof" };
    const gateway = await startFakeGateway(SESSION, { proofRefusals: [refusal] });
    cleanups.push(gateway.close);
    const n = await claimingNode(gateway.key.address, gateway.link.url);
    await n.pass(first);
    expect(n.claim()).toMatchObject({ status: "claimed" });
    expect(n.claim()?.lastError).toMatch(/submitProof.*protocol schema/);
    await n.pass(first + 11 * MINUTE);
    expect(gateway.received.proofs).toBe(2);
    expect(n.claim()).toMatchObject({ status: "proven" });
  });

  it.each(["DATABASE_UNAVAILABLE", "RATE_LIMITED", "RATE_NOT_SET"] as const)(
    "refused with %s: retried, and proven once the gateway takes it",
    async (code) => {
      const refusal: CodedFailure = { code, message: `the gateway answered ${code}` };
      const gateway = await startFakeGateway(SESSION, { claimRefusals: [refusal, refusal] });
      cleanups.push(gateway.close);
      const n = await claimingNode(gateway.key.address, gateway.link.url);
      await n.pass(first);
      expect(n.claim()).toMatchObject({ status: "built", attempts: 1 });
      await n.pass(first + 11 * MINUTE);
      await n.pass(first + 22 * MINUTE);
      expect(n.claim()).toMatchObject({ status: "proven" });
      expect(n.rejections()).toHaveLength(0);
    },
  );
});

describe("a claim whose gateway stays unreachable", () => {
  it("is retried while a gateway could take it, then given up, said once, counted, and its rows pruned", async () => {
    const gateway = generateKeyPair();
    const n = await claimingNode(gateway.address, await closedUrl());
    await n.pass(first);
    expect(n.claim()).toMatchObject({ status: "built", attempts: 1 });
    // The last instant its window is open: still retried.
    await n.pass(windowEnds - 1);
    expect(n.claim()).toMatchObject({ status: "built", attempts: 2 });
    expect(n.rows()).toBe(3);

    // Its next try, the window closed.
    const late = windowEnds + 11 * MINUTE;
    await n.pass(late);
    expect(n.claim()).toMatchObject({ status: "rejected", mintedUpokt: "0" });
    expect(n.claim()?.lastError).toMatch(/^CLAIM_EXPIRED: /);
    expect(n.rejections()).toEqual([
      expect.objectContaining({
        code: "CLAIM_EXPIRED",
        action: expect.stringContaining("url in gateways"),
      }),
    ]);
    expect(n.counted("expired")).toBe(1);
    await n.pass(late + KEEP_SETTLED_MS);
    expect(n.rows()).toBe(0);
    expect(n.rejections()).toHaveLength(1);
  });
});

describe("a claim of a week whose rate its gateway has not set", () => {
  it("is not given up past the claim window: the gateway opens a full window once the rate is set", async () => {
    // The gateway answers RATE_NOT_SET to every claim of the week, late ones too, until its
    // operator sets the rate; then it takes them for claimWindowMs from that moment.
    const refusal: CodedFailure = {
      code: "RATE_NOT_SET",
      message: "no POKT rate is set for week 1970-W01; the operator must set it",
    };
    const gateway = await startFakeGateway(SESSION, { claimRefusals: [refusal, refusal] });
    cleanups.push(gateway.close);
    const n = await claimingNode(gateway.key.address, gateway.link.url);
    await n.pass(first);
    expect(n.claim()).toMatchObject({ status: "built", attempts: 1 });

    // Past the longest claim window, the rate still not set: the gateway still takes the claim later.
    const late = windowEnds + 11 * MINUTE;
    await n.pass(late);
    expect(n.claim()).toMatchObject({ status: "built", attempts: 2 });
    expect(n.rejections()).toHaveLength(0);
    expect(n.rows()).toBe(3);

    // The rate is set: the claim is taken and proven.
    await n.pass(late + 11 * MINUTE);
    expect(n.claim()).toMatchObject({ status: "proven" });
    expect(n.rejections()).toHaveLength(0);
  });
});
