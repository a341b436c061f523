import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pocketCodeOf } from "@pocket-ai/link";
import {
  bytesToHex,
  createStreamCutReceipt,
  generateKeyPair,
  relayLeafHash,
  relayRequestHash,
  verifyClaimAck,
  verifyProofAck,
} from "@pocket-ai/protocol";
import { createLogger } from "@pocket-ai/runtime";
import Database from "better-sqlite3";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { latch, until } from "./fakes/fake-server.js";
import { startFakeVllm } from "./fakes/fake-vllm.js";
import { startFakeGateway } from "./helpers/fake-gateway.js";
import { nodeClient, startTestNode, TEST_SESSION, TestGateway } from "./helpers/node-harness.js";
import { exited, spawnNode } from "./helpers/node-process.js";

/** Answered rows in the node's ledger file, read while the node runs (WAL: readers never wait). */
function answeredOnDisk(dataDir: string): number {
  const db = new Database(join(dataDir, "node.sqlite"), { readonly: true });
  try {
    return (db.prepare("SELECT count(*) AS n FROM relays WHERE outcome = 'ok'").get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** A logger whose JSON lines the test reads. */
function capturedLog() {
  const lines: string[] = [];
  return { lines, log: createLogger({ app: "node-test", level: "info", write: (line) => lines.push(line) }) };
}

const services = [{ serviceId: "llama-2-13b", tiers: ["standard"], backends: [{ kind: "dev" }] }];

describe("durability and the claim cycle", () => {
  it("keeps answered relays through kill -9 and claims and proves them after restart, retrying a failure", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "pocket-node-crash-"));
    const gw = new TestGateway();
    const gateway = await startFakeGateway(TEST_SESSION, { refuseClaimsFirst: 4, key: gw.key });
    const run = await spawnNode(dataDir, { session: TEST_SESSION, services });
    const client = nodeClient(`${run.url}/trpc`);
    const requests = Array.from({ length: 12 }, (_, i) =>
      gw.request({ model: "llama-2-13b", prompt: `Relay number ${i}`, max_tokens: 3 }),
    );
    for (const request of requests) expect((await client.relay.mutate(request)).outcome).toBe("ok");
    // An answer leaves before its row commits (in the same turn of the node's event loop): kill -9
    // once the twelfth row is on disk, read through a connection of the test's own.
    await until(() => answeredOnDisk(dataDir) === 12, "the twelve answered rows on disk");
    run.child.kill("SIGKILL");
    await exited(run.child);

    let clock = requests[0]!.header.sessionEnd + TEST_SESSION.graceMs + 1;
    const restarted = await startTestNode({ services, gateways: [gateway.link] }, dataDir, {
      now: () => clock,
    });
    try {
      const sessionId = requests[0]!.header.sessionId;
      expect(restarted.node.relays.leaves(sessionId, gw.key.address)).toHaveLength(12);

      await Effect.runPromise(restarted.node.claimNow); // builds the claim; the gateway fails it (4 tries)
      expect(restarted.node.claims.all()[0]).toMatchObject({ status: "built", relayCount: 12, attempts: 1 });
      clock += 60_000; // past the backoff
      await Effect.runPromise(restarted.node.claimNow);

      const claim = restarted.node.claims.all()[0]!;
      expect(claim.status).toBe("proven");
      expect(claim.computeUnits).toBe(String(12 * 750));
      expect(claim.mintedUpokt).toBe(String(12 * 750 * 4));
      const seen = gateway.claims.get(`${sessionId}/${restarted.node.key.address}`);
      expect(seen?.root.relays).toBe(12);
      expect(seen?.proven).toBe(true);
    } finally {
      await restarted.stop();
      await gateway.close();
    }
  }, 180_000);

  it("keeps a stream killed mid-way (kill -9) as cut, so the gateway's cut receipt pays it after restart and its claim holds the gateway's leaf", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "pocket-node-cut-crash-"));
    const gw = new TestGateway();
    const gateway = await startFakeGateway(TEST_SESSION, { key: gw.key });
    // An engine that sends three pieces, then holds the stream open: the node dies mid-stream.
    const engine = await startFakeVllm();
    const held = latch();
    engine.faults.pieceGate = { after: 3, open: held.promise };
    try {
      const streamed = [
        {
          serviceId: "llama-2-13b",
          tiers: ["standard"],
          backends: [{ kind: "vllm", url: engine.url, model: "served-model", probeAtStart: false }],
        },
      ];
      const run = await spawnNode(dataDir, { session: TEST_SESSION, services: streamed });
      const request = gw.request({
        model: "llama-2-13b",
        prompt: "Once upon a time",
        max_tokens: 15,
        ignore_eos: true,
        stream: true,
      });
      const requestHash = relayRequestHash(request);
      const stream = (await nodeClient(`${run.url}/trpc`).relayStream.mutate(request))[
        Symbol.asyncIterator
      ]();
      // The first chunk, signed: what the gateway bills its client for when the stream is cut.
      const first = await stream.next();
      expect(first.done).toBe(false);
      const head = first.value!.chain;
      expect(first.value!.final).toBeUndefined();
      run.child.kill("SIGKILL");
      await exited(run.child);
      // The client's side of the stream ends with the node: its error is not this test's concern.
      await stream.next().catch(() => undefined);
      held.open();

      let clock = Date.now();
      const restarted = await startTestNode({ services, gateways: [gateway.link] }, dataDir, {
        now: () => clock,
      });
      try {
        const { sessionId, sessionEnd } = request.header;
        // The gateway's receipt: the client read one output token under the first head.
        const receipt = (over: Partial<Parameters<typeof createStreamCutReceipt>[0]>) =>
          createStreamCutReceipt(
            {
              nodeAddress: restarted.node.key.address,
              sessionId,
              requestHash,
              chain: head,
              outputTokens: 1,
              computeUnits: 120,
              issuedAt: clock,
              ...over,
            },
            gw.key,
          );
        // Never more than the request allowed (15 output tokens), whatever the gateway says.
        await expect(restarted.client.settleCut.mutate(receipt({ outputTokens: 16 }))).rejects.toThrow(
          /more output tokens than the node sent/,
        );
        expect(await restarted.client.settleCut.mutate(receipt({}))).toEqual({ status: "settled" });
        expect(await restarted.client.settleCut.mutate(receipt({}))).toEqual({ status: "unchanged" });
        const leaf = bytesToHex(relayLeafHash(requestHash, head));
        expect(restarted.node.relays.leaves(sessionId, gw.key.address)).toEqual([
          { leafHash: leaf, computeUnits: 120 },
        ]);
        // A replay of the killed stream is still refused.
        const replayed = [];
        for await (const chunk of await restarted.client.relayStream.mutate(request)) replayed.push(chunk);
        expect(replayed.map((c) => c.final?.error?.code)).toEqual(["REPLAYED_RELAY"]);

        clock = sessionEnd + TEST_SESSION.graceMs + 1;
        await Effect.runPromise(restarted.node.claimNow);
        const claim = restarted.node.claims.all()[0]!;
        expect(claim).toMatchObject({ status: "proven", relayCount: 1, computeUnits: "120" });
        expect(gateway.claims.get(`${sessionId}/${restarted.node.key.address}`)?.root.relays).toBe(1);
      } finally {
        await restarted.stop();
      }
    } finally {
      held.open();
      await engine.close();
      await gateway.close();
    }
  }, 180_000);

  it("keeps the gateway's signed receipts, and takes no forged one (a claim answered by another key is retried)", async () => {
    const gw = new TestGateway();
    const gateway = await startFakeGateway(TEST_SESSION, { key: gw.key });
    let clock = Date.now();
    const h = await startTestNode({ services, gateways: [gateway.link] }, undefined, { now: () => clock });
    try {
      const requests = Array.from({ length: 3 }, (_, i) =>
        gw.request({ model: "llama-2-13b", prompt: `Relay number ${i}`, max_tokens: 3 }),
      );
      for (const request of requests) expect((await h.client.relay.mutate(request)).outcome).toBe("ok");
      const { sessionId, sessionEnd } = requests[0]!.header;
      clock = sessionEnd + TEST_SESSION.graceMs + 1;
      // A man in the middle answers with receipts signed by another key.
      gateway.receipts.key = generateKeyPair();
      await Effect.runPromise(h.node.claimNow);
      expect(h.node.claims.all()[0]).toMatchObject({ status: "built", attempts: 1, claimReceipt: null });
      expect(h.node.claims.all()[0]?.lastError).toMatch(/receipt does not check \(ADDRESS_MISMATCH/);

      gateway.receipts.key = gw.key;
      clock += 60_000; // past the backoff
      await Effect.runPromise(h.node.claimNow);
      const claim = h.node.claims.all()[0]!;
      expect(claim.status).toBe("proven");
      const expected = {
        gatewayAddress: gw.key.address,
        nodeAddress: h.node.key.address,
        sessionId,
        root: { root: claim.root, relays: claim.relayCount, computeUnits: claim.computeUnits },
      };
      const claimAck = verifyClaimAck(JSON.parse(claim.claimReceipt!), expected);
      expect(claimAck.ok && claimAck.value.proofSeed).toBe(claim.proofSeed);
      const proofAck = verifyProofAck(JSON.parse(claim.proofReceipt!), expected);
      expect(proofAck.ok && proofAck.value.mintedUpokt).toBe(claim.mintedUpokt);
    } finally {
      await h.stop();
      await gateway.close();
    }
  });

  it("drains an in-flight relay on SIGTERM before exiting", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "pocket-node-term-"));
    const gw = new TestGateway();
    // An engine that holds the relay's generation until the node has taken the signal: the relay
    // is in flight when SIGTERM arrives, whatever the machine's load.
    const engine = await startFakeVllm();
    const gate = latch();
    engine.faults.gate = gate.promise;
    try {
      const held = [
        {
          serviceId: "llama-2-13b",
          tiers: ["standard"],
          // The engine is gated from the start, so no start-up probe (it would wait on the gate).
          backends: [{ kind: "vllm", url: engine.url, model: "served-model", probeAtStart: false }],
        },
      ];
      const run = await spawnNode(dataDir, { session: TEST_SESSION, services: held });
      const client = nodeClient(`${run.url}/trpc`);
      const pending = client.relay.mutate(
        gw.request({ model: "llama-2-13b", prompt: "Once upon a time", max_tokens: 15, ignore_eos: true }),
      );
      await until(() => engine.calls["POST /v1/completions"] === 1, "the relay at the engine");
      run.child.kill("SIGTERM");
      await until(() => run.stderr().includes("SIGTERM received"), "the node to take the signal");
      gate.open();
      const response = await pending;
      expect(response.outcome).toBe("ok");
      expect(response.usage.outputTokens).toBe(15);
      expect(await exited(run.child)).toBe(0);
      expect(run.stderr()).toContain("shutting down cleanly");
    } finally {
      gate.open();
      await engine.close();
    }
  }, 180_000);

  it("registers with its gateways, signed, on start", async () => {
    const gateway = await startFakeGateway(TEST_SESSION);
    const h = await startTestNode({ gateways: [gateway.link] });
    try {
      await until(() => gateway.announcements.length > 0, "the node's announcement");
      const a = gateway.announcements[0];
      expect(a?.node.address).toBe(h.node.key.address);
      expect(a?.endpoint).toBe(h.node.trpcUrl);
      expect(a?.services.map((s) => s.serviceId).sort()).toEqual(["llama-2-13b", "stable-diffusion"]);
    } finally {
      await h.stop();
      await gateway.close();
    }
  });

  it("refuses a second node on the same data folder while the first runs", async () => {
    const first = await startTestNode();
    try {
      const second = await startTestNode({}, first.dataDir).then(
        async (h) => {
          await h.stop();
          return "started";
        },
        (e: unknown) => String((e as Error).message),
      );
      expect(second).toMatch(
        new RegExp(
          `^DATA_DIR_LOCKED: another pocket-node \\(this process\\) is using the data folder ${first.dataDir}`,
        ),
      );
      expect((await first.client.health.query()).ok).toBe(true);
    } finally {
      await first.stop();
    }
    // Free again once the first has stopped.
    const again = await startTestNode({}, first.dataDir);
    await again.stop();
  });

  it("refuses a service or tier its catalog does not have before it makes its data folder, a key or a database", async () => {
    for (const [service, expected] of [
      [
        { serviceId: "no-such-model" },
        'INVALID_CONFIG: services.0.serviceId: "no-such-model" is not in the catalog',
      ],
      [
        { serviceId: "llama-2-13b", tiers: ["gold"] },
        'INVALID_CONFIG: services.0.tiers: "gold" is not a tier of llama-2-13b',
      ],
    ] as const) {
      const dataDir = join(mkdtempSync(join(tmpdir(), "pocket-node-refused-")), "data");
      const refused = await startTestNode(
        { services: [{ ...service, backends: [{ kind: "dev" }] }] },
        dataDir,
      ).then(
        async (h) => {
          await h.stop();
          return "started";
        },
        (e: unknown) => String((e as Error).message),
      );
      expect(refused).toContain(expected);
      // Not even the data folder: the config is refused before anything is created.
      expect(existsSync(dataDir)).toBe(false);
    }
  });

  it("warns when it listens on every address and has no publicUrl to announce", async () => {
    const gateway = await startFakeGateway(TEST_SESSION);
    const { lines, log } = capturedLog();
    const h = await startTestNode(
      { gateways: [gateway.link], listen: { host: "0.0.0.0", port: 0 } },
      undefined,
      {
        log,
      },
    );
    try {
      await until(() => gateway.announcements.length > 0, "the node's announcement");
      expect(gateway.announcements[0]?.endpoint).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/trpc$/);
      const warned = lines.map((l) => JSON.parse(l)).find((l) => String(l.msg).includes("publicUrl"));
      expect(warned).toMatchObject({ level: "warn", endpoint: gateway.announcements[0]?.endpoint });
    } finally {
      await h.stop();
      await gateway.close();
    }
  });

  it("signs each gateway's announcements for that gateway: each takes its own, neither the other's", async () => {
    const [a, b] = await Promise.all([startFakeGateway(TEST_SESSION), startFakeGateway(TEST_SESSION)]);
    const h = await startTestNode({ gateways: [a.link, b.link] });
    try {
      await until(() => a.announcements.length > 0 && b.announcements.length > 0, "both announcements");
      expect(a.announcements[0]?.gatewayAddress).toBe(a.key.address);
      expect(b.announcements[0]?.gatewayAddress).toBe(b.key.address);
      expect([...a.refusedAnnouncements, ...b.refusedAnnouncements]).toEqual([]);
      // What one gateway was sent, carried to the other, is refused there.
      const carried = await b.sendAnnouncement(a.announcements[0]).catch((e: unknown) => e);
      expect(pocketCodeOf(carried)).toBe("ANNOUNCEMENT_WRONG_GATEWAY");
    } finally {
      await h.stop();
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("says as an error what to set when the gateway refuses announcements signed for the address its config names", async () => {
    const gateway = await startFakeGateway(TEST_SESSION);
    const { lines, log } = capturedLog();
    const configured = generateKeyPair().address;
    const h = await startTestNode({ gateways: [{ ...gateway.link, address: configured }] }, undefined, {
      log,
    });
    try {
      await until(() => gateway.refusedAnnouncements.length > 0, "the refused announcement");
      await until(() => lines.some((l) => l.includes(configured)), "the registration's log line");
      expect(gateway.refusedAnnouncements[0]).toBe("ANNOUNCEMENT_WRONG_GATEWAY");
      expect(gateway.announcements).toEqual([]);
      const said = lines.map((l) => JSON.parse(l)).find((l) => l.configured === configured);
      expect(said).toMatchObject({ level: "error", configured });
      expect(said.msg).toContain("set its gateways[].address");
      expect(said.detail).toContain(gateway.key.address);
    } finally {
      await h.stop();
      await gateway.close();
    }
  });

  it("announces without naming the gateway to a gateway older than the field, and warns once", async () => {
    const gateway = await startFakeGateway(TEST_SESSION, { olderThanGatewayField: true });
    const { lines, log } = capturedLog();
    const h = await startTestNode({ gateways: [gateway.link] }, undefined, { log });
    try {
      await until(() => gateway.announcements.length > 0, "the node's announcement");
      expect(gateway.refusedAnnouncements).toEqual(["MALFORMED_ENVELOPE"]);
      expect("gatewayAddress" in gateway.announcements[0]!).toBe(false);
      await until(() => lines.some((l) => l.includes("registered with gateway")), "the registration");
      const warned = lines.map((l) => JSON.parse(l)).filter((l) => String(l.msg).includes("gatewayAddress"));
      expect(warned).toHaveLength(1);
      expect(warned[0]).toMatchObject({ level: "warn", gateway: gateway.link.url });
    } finally {
      await h.stop();
      await gateway.close();
    }
  });

  it("says so loudly when the gateway answers with another address than its config names", async () => {
    // A gateway older than the announcement's gatewayAddress: a newer one refuses the announcement.
    const gateway = await startFakeGateway(TEST_SESSION, { olderThanGatewayField: true });
    const { lines, log } = capturedLog();
    const configured = generateKeyPair().address;
    const h = await startTestNode({ gateways: [{ ...gateway.link, address: configured }] }, undefined, {
      log,
    });
    try {
      await until(() => gateway.announcements.length > 0, "the node's announcement");
      await until(() => lines.some((l) => l.includes("UNKNOWN_GATEWAY")), "the registration's log line");
      const loud = lines.map((l) => JSON.parse(l)).find((l) => l.configured === configured);
      expect(loud).toMatchObject({ level: "error", answered: gateway.link.address, configured });
      expect(loud.msg).toContain("UNKNOWN_GATEWAY");
      // Not followed by a cheerful "registered": the node is of no use to that gateway as it is.
      expect(lines.some((l) => l.includes("registered with gateway"))).toBe(false);
    } finally {
      await h.stop();
      await gateway.close();
    }
  });
});
