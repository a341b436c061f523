import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import {
  buildClaimTree,
  claimRoot,
  createClaimSubmission,
  createProofSubmission,
  deriveSessionHeader,
  generatePrivateKey,
  keyPairFromPrivateKey,
  proveClaimLeaf,
  verifyProofAck,
  weekIdOf,
} from "@pocket-ai/protocol";
import { createTestDatabase } from "@pocket-ai/runtime/testing";
import { describe, expect, it } from "vitest";
import { processScope, spawnReplicas } from "./support/gateway-process.js";
import { adminClient, startDevNode, waitForNodes } from "./support/live-network.js";
import { postgresServerUrl } from "./support/temp-database.js";

/**
 * Three gateway processes (the CLI, as operators run them) on one PostgreSQL database behave as
 * one gateway: a key made on one works on all, a budget holds exactly across them, and a node may
 * claim and prove at any replica what another replica served — minted once.
 */

const PRICE = 750;
const { dir, children, stops } = processScope("pocket-replicas-");

const server = postgresServerUrl();

interface Replica {
  readonly child: ChildProcess;
  readonly url: string;
  readonly log: string[];
  readonly admin: ReturnType<typeof adminClient>;
}

describe.skipIf(server === null)("three gateway replicas on one PostgreSQL database", () => {
  it("admit exactly a budget's worth of 500 concurrent requests, and mint a claim proven at another replica once", async () => {
    const databaseUrl = await createTestDatabase(server!);
    const key = keyPairFromPrivateKey(generatePrivateKey());
    // Short sessions, so the claim window of the first one opens while the test runs.
    const session = {
      mode: "time" as const,
      genesisMs: Date.now() - 1_000,
      sessionLengthMs: 12_000,
      graceMs: 1_000,
    };
    const replicas: Replica[] = (
      await spawnReplicas(
        { dir, children },
        {
          databaseUrl,
          privateKeyHex: Buffer.from(key.privateKey).toString("hex"),
          session,
          configs: [0, 1, 2].map(() => ({ metering: { flushMs: 50 } })),
        },
      )
    ).map((started) => ({ ...started, admin: adminClient(`${started.url}/trpc`) }));
    const [a, b, c] = replicas as [Replica, Replica, Replica];

    // Nodes announce to replica A only; B and C see them through the shared table.
    const nodes = [];
    for (let i = 0; i < 2; i++) {
      const node = await startDevNode(
        { trpcUrl: `${a.url}/trpc`, address: key.address },
        session,
        join(dir, `node-${i}`),
        { maxConcurrency: 64, maxQueue: 1_000 },
      );
      stops.push(node.stop);
      nodes.push(node);
    }
    const addresses = nodes.map((n) => n.node.key.address);
    for (const r of replicas) await waitForNodes(r.admin, addresses);
    for (const r of replicas) expect((await fetch(`${r.url}/ready`)).status).toBe(200);

    // Relays of one application, served by replica A alone; claimed later at C, proven at B.
    const served = await b.admin.admin.applications.create.mutate({ name: "served-by-a" });
    const servedKey = await c.admin.admin.keys.create.mutate({ applicationId: served.id, name: "k" });
    const completion = (url: string, secret: string) =>
      fetch(`${url}/v1/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "llama-2-13b", prompt: "count to five", max_tokens: 5 }),
      });
    for (let i = 0; i < 6; i++) expect((await completion(a.url, servedKey.secret)).status).toBe(200);
    const servedUntil = Date.now();
    const lastSessionEnd =
      session.genesisMs +
      (Math.floor((servedUntil - session.genesisMs) / session.sessionLengthMs) + 1) * session.sessionLengthMs;

    // A budget of exactly 100 calls, made on B; 500 concurrent calls spread over A, B and C.
    const app = await a.admin.admin.applications.create.mutate({ name: "budget" });
    const budgetKey = await b.admin.admin.keys.create.mutate({
      applicationId: app.id,
      name: "k",
      budgetMicroUsd: 100 * PRICE,
    });
    // Every replica admits calls against the one budget (shared, not split): one call admitted at
    // each first, in turn, so no replica's speed on a loaded machine decides this. (A relay that
    // fails on its way is not charged: the replica is asked again.)
    let first = 0;
    for (const r of replicas) {
      let admittedHere = false;
      for (let attempt = 0; !admittedHere && attempt < 20; attempt++) {
        const response = await completion(r.url, budgetKey.secret);
        admittedHere = response.status === 200;
        await response.arrayBuffer();
      }
      expect(admittedHere).toBe(true);
      first += 1;
    }
    const answers = await Promise.all(
      Array.from({ length: 500 }, async (_, i) => {
        const response = await completion(replicas[i % 3]!.url, budgetKey.secret);
        const body = (await response.json()) as { error?: { code?: string } };
        return { status: response.status, code: body.error?.code };
      }),
    );
    const admitted = answers.filter((x) => x.status === 200);
    const failed = answers.filter((x) => x.status !== 200 && x.code !== "BUDGET_EXHAUSTED");
    // Never more than the budget, whatever the interleaving across replicas.
    expect(first + admitted.length).toBeLessThanOrEqual(100);
    // A relay that failed on its way (a node too slow on a loaded machine) is not charged and
    // gives its reservation back: the budget then admits that many more, and not one more.
    if (failed.length > 0) {
      console.info(
        `replicas: ${failed.length} relays failed unpaid: ${[...new Set(failed.map((x) => x.code))].join(", ")}`,
      );
    }
    // Refused for the budget, or failed at a node: never a storage error.
    const storage = (code: string | undefined) => code === "INTERNAL" || code === "DATABASE_UNAVAILABLE";
    if (failed.some((x) => storage(x.code))) {
      console.info(replicas.flatMap((r) => r.log.filter((l) => l.includes('"level":"error"'))).slice(0, 20));
    }
    expect(failed.filter((x) => storage(x.code) || x.code === undefined)).toEqual([]);
    // With no relay lost on the way, the 500 themselves admitted exactly what the budget had left.
    if (failed.length === 0) expect(first + admitted.length).toBe(100);
    let topUp = 0;
    for (let i = 0; first + admitted.length + topUp < 100 && i < 1_000; i++) {
      const response = await completion(replicas[i % 3]!.url, budgetKey.secret);
      if (response.status === 200) topUp++;
      await response.arrayBuffer();
    }
    expect(first + admitted.length + topUp).toBe(100);
    const over = await Promise.all(replicas.map((r) => completion(r.url, budgetKey.secret)));
    for (const response of over) {
      expect(response.status).toBe(402);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("BUDGET_EXHAUSTED");
    }
    expect(answers.filter((x) => x.status === 402).every((x) => x.code === "BUDGET_EXHAUSTED")).toBe(true);
    for (const r of replicas) {
      expect(await r.admin.admin.usage.byKey.query({ keyId: budgetKey.key.id })).toMatchObject({
        requests: 100,
        spentMicroUsd: 100 * PRICE,
        reservedMicroUsd: 0,
        remainingMicroUsd: 0,
      });
    }

    // The week's rate, set on C, is the rate every replica pins.
    const weekId = weekIdOf(session.genesisMs);
    await c.admin.admin.settlement.rates.set.mutate({ weekId, rateMicroUsdPerPokt: 250_000 });

    // Once the served application's session ended (and its grace), each node claims it at C and
    // proves the seed's leaf at B; asked again at A, the settled claim answers the same.
    while (Date.now() < lastSessionEnd + session.graceMs + 500) await new Promise((r) => setTimeout(r, 250));
    const claimed: string[] = [];
    for (const { node } of nodes) {
      const sessions = node.relays.unclaimedSessions(Date.now() - session.graceMs);
      for (const s of sessions.filter((x) => x.applicationAddress === served.address)) {
        const leaves = node.relays.leaves(s.sessionId, key.address);
        const tree = buildClaimTree(leaves.map((l) => ({ hash: l.leafHash, computeUnits: l.computeUnits })));
        const header = deriveSessionHeader(session, s.applicationAddress, s.serviceId, s.sessionEnd - 1);
        expect(header.sessionId).toBe(s.sessionId);
        const submission = createClaimSubmission(
          { gatewayAddress: key.address, header, root: claimRoot(tree), issuedAt: Date.now() },
          node.key,
        );
        const ack = await c.admin.settlement.submitClaim.mutate(submission);
        expect(ack.status).toBe("accepted");
        // The same claim at another replica: the same seed, not a second claim.
        expect(await a.admin.settlement.submitClaim.mutate(submission)).toMatchObject({
          status: "duplicate",
          leafIndex: ack.leafIndex,
        });
        const proof = createProofSubmission(
          {
            gatewayAddress: key.address,
            sessionId: s.sessionId,
            proof: proveClaimLeaf(tree, ack.leafIndex),
            issuedAt: Date.now(),
          },
          node.key,
        );
        const proven = await b.admin.settlement.submitProof.mutate(proof);
        expect(proven).toMatchObject({ status: "proven" });
        expect(proven.mintedUpokt).toBe((BigInt(leaves.length) * 3_000n).toString());
        // Asked again at another replica: the same settlement, signed again by the same gateway key.
        const again = await a.admin.settlement.submitProof.mutate(proof);
        expect(again).toMatchObject({ status: "proven", mintedUpokt: proven.mintedUpokt });
        expect(
          verifyProofAck(again, {
            gatewayAddress: key.address,
            nodeAddress: node.key.address,
            sessionId: s.sessionId,
            root: claimRoot(tree),
          }).ok,
        ).toBe(true);
        claimed.push(s.sessionId);
      }
    }
    expect(claimed.length).toBeGreaterThan(0);

    // Minted once: the tally (read at any replica) holds each proven claim once.
    const tally = await a.admin.admin.settlement.tally.week.query({ weekId });
    expect(tally.totals.claims).toBe(claimed.length);
    expect(tally.totals.relaysProven).toBe(6);
    expect(tally.totals.mintedUpokt).toBe((6n * 3_000n).toString());
    expect(await c.admin.admin.settlement.tally.week.query({ weekId })).toEqual(tally);
  }, 300_000);
});
