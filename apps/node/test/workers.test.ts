import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeNodeClient, pocketCodeOf } from "@pocket-ai/link";
import {
  bytesToHex,
  createStreamCutReceipt,
  generateKeyPair,
  relayLeafHash,
  relayRequestHash,
} from "@pocket-ai/protocol";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { latch, until } from "./fakes/fake-server.js";
import { startFakeVllm } from "./fakes/fake-vllm.js";
import { startFakeGateway } from "./helpers/fake-gateway.js";
import { startTestNode, TEST_SESSION, TestGateway } from "./helpers/node-harness.js";
import { exited, spawnNode } from "./helpers/node-process.js";

/**
 * `fetch` on a new connection each call: the node's primary hands connections to its workers in
 * turn, so consecutive calls reach different workers.
 */
function freshFetch(input: string, init?: { method?: string; headers?: unknown; body?: unknown }) {
  return new Promise<Response>((resolve, reject) => {
    const headers = new Headers(init?.headers as Record<string, string> | undefined);
    const req = httpRequest(
      input,
      { method: init?.method ?? "GET", agent: false, headers: Object.fromEntries(headers) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const responseHeaders = new Headers();
          for (const [k, v] of Object.entries(res.headers))
            if (typeof v === "string") responseHeaders.set(k, v);
          resolve(
            new Response(Buffer.concat(chunks), { status: res.statusCode ?? 500, headers: responseHeaders }),
          );
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(typeof init?.body === "string" ? init.body : undefined);
  });
}

/** Retries `check` until it holds (each try is a state check; the deadline only bounds a failure). */
async function eventually(check: () => Promise<boolean>, what: string, deadlineMs = 60_000) {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The processes a process started (Linux). */
const childrenOf = (pid: number) =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);

/** Whether a process has exited (gone, or a zombie no one reaped yet). */
const gone = (pid: number) => {
  if (!existsSync(`/proc/${pid}`)) return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
};

/** The service served through the fake engine at `url`, with no probe at start (tests gate the engine). */
const engineServices = (url: string, backend: Record<string, unknown> = {}) => [
  {
    serviceId: "llama-2-13b",
    tiers: ["standard"],
    backends: [{ kind: "vllm", url, model: "served-model", probeAtStart: false, ...backend }],
  },
];

/** A single-process node on the ledger in `dataDir`, its clock past `request`'s session, for `check`. */
async function afterSession(
  dataDir: string,
  services: unknown,
  request: { header: { sessionEnd: number } },
  check: (node: Awaited<ReturnType<typeof startTestNode>>["node"]) => Promise<void>,
) {
  const restarted = await startTestNode({ services }, dataDir, {
    now: () => request.header.sessionEnd + TEST_SESSION.graceMs + 1,
  });
  try {
    await check(restarted.node);
  } finally {
    await restarted.stop();
  }
}

const workerOf = async (url: string) =>
  ((await (await freshFetch(`${url}/health`)).json()) as { worker?: number }).worker;

describe("a node with several workers", () => {
  it("serves from every worker on one port, admits each request once across them, and claims from one ledger", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "pocket-node-workers-"));
    const gw = new TestGateway();
    const engine = await startFakeVllm();
    const gate = latch();
    const services = engineServices(engine.url, { maxConcurrency: 8 });
    try {
      const run = await spawnNode(dataDir, { session: TEST_SESSION, services, workers: 2 });
      const client = makeNodeClient(`${run.url}/trpc`, { fetch: freshFetch as never });

      // Both workers answer on the node's one port.
      const workers = new Set<number | undefined>();
      for (let i = 0; i < 4; i++) workers.add(await workerOf(run.url));
      expect([...workers].sort()).toEqual([1, 2]);

      const requests = Array.from({ length: 6 }, (_, i) =>
        gw.request({ model: "llama-2-13b", prompt: `Relay number ${i}`, max_tokens: 3 }),
      );
      for (const request of requests) expect((await client.relay.mutate(request)).outcome).toBe("ok");
      // One scrape holds every process's metrics, each labelled by its worker (or the primary).
      const scraped = await (await freshFetch(`${run.url}/metrics`)).text();
      const served = [
        ...scraped.matchAll(/^pocket_node_relays_total\{worker="(\d)",[^}]*outcome="ok"[^}]*\} (\d+)$/gm),
      ];
      expect(new Set(served.map((m) => m[1]))).toEqual(new Set(["1", "2"]));
      expect(served.reduce((n, m) => n + Number(m[2]), 0)).toBe(6);
      expect(scraped.match(/^# TYPE pocket_node_relays_total counter$/gm)).toHaveLength(1);
      expect(scraped).toMatch(/worker="primary"/);

      // A relay held at the engine is in flight in one worker; copies of it sent meanwhile reach
      // the other worker too (new connections go to the workers in turn) and are refused there,
      // before any of them reaches the engine.
      engine.faults.gate = gate.promise;
      const held = gw.request({ model: "llama-2-13b", prompt: "Held at the engine", max_tokens: 3 });
      const pending = client.relay.mutate(held);
      await until(() => engine.calls["POST /v1/completions"] === 7, "the held relay at the engine");
      const copies = await Promise.all([0, 1, 2].map(() => client.relay.mutate(held)));
      for (const copy of copies) expect(copy.error?.code).toBe("REPLAYED_RELAY");
      expect(engine.calls["POST /v1/completions"]).toBe(7);
      gate.open();
      expect((await pending).outcome).toBe("ok");
      // Once answered, it is in the shared ledger: every worker refuses it from the database.
      for (let i = 0; i < 2; i++)
        expect((await client.relay.mutate(held)).error?.code).toBe("REPLAYED_RELAY");

      // SIGTERM to the primary stops every worker in order.
      run.child.kill("SIGTERM");
      expect(await exited(run.child)).toBe(0);

      // Every worker wrote to the one ledger: the session's claim holds each relay once.
      await afterSession(dataDir, services, requests[0]!, async (node) => {
        expect(node.relays.leaves(requests[0]!.header.sessionId, gw.key.address)).toHaveLength(7);
        await Effect.runPromise(node.claimNow);
        expect(node.claims.all()[0]).toMatchObject({ relayCount: 7 });
      });
    } finally {
      gate.open();
      await engine.close();
    }
  }, 180_000);

  it("passes the gateways' session lists to every worker, and replaces a worker that dies", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "pocket-node-workers-"));
    const gw = new TestGateway();
    // Sessions of one node among others: this node is in none of them.
    const others = Array.from({ length: 3 }, (_, i) => ({
      address: generateKeyPair().address,
      registeredAt: i,
    }));
    const gateway = await startFakeGateway(TEST_SESSION, {
      key: gw.key,
      registry: () => ({ "llama-2-13b": others }),
      nodesPerSession: 1,
    });
    const services = [{ serviceId: "llama-2-13b", tiers: ["standard"], backends: [{ kind: "dev" }] }];
    try {
      const run = await spawnNode(dataDir, {
        session: TEST_SESSION,
        services,
        workers: 2,
        gateways: [gateway.link],
      });
      const client = makeNodeClient(`${run.url}/trpc`, { fetch: freshFetch as never });
      const refusedByBoth = async () => {
        const codes = await Promise.all(
          [0, 1].map(async () => {
            const request = gw.request({ model: "llama-2-13b", prompt: "Hello", max_tokens: 2 });
            return (await client.relay.mutate(request).catch(() => undefined))?.error?.code;
          }),
        );
        return codes.every((code) => code === "NOT_IN_SESSION");
      };
      // The primary registers; its workers hear the lists and refuse relays of sessions without this node.
      await eventually(refusedByBoth, "both workers refusing relays outside the node's sessions");

      // A worker killed outright is replaced; the new one hears the lists as it joins.
      const [victim] = childrenOf(run.child.pid!);
      expect(victim).toBeDefined();
      process.kill(victim!, "SIGKILL");
      await eventually(
        async () => run.stderr().includes("NODE_WORKER_EXITED"),
        "the primary to see its worker exit",
      );
      await eventually(async () => {
        const seen = new Set<number | undefined>();
        for (let i = 0; i < 4; i++) seen.add(await workerOf(run.url).catch(() => undefined));
        return seen.has(1) && seen.has(2) && !childrenOf(run.child.pid!).includes(victim!);
      }, "a replacement worker serving");
      expect(await refusedByBoth()).toBe(true);

      run.child.kill("SIGTERM");
      expect(await exited(run.child)).toBe(0);
    } finally {
      await gateway.close();
    }
  }, 180_000);

  it("keeps a stream whose worker was killed mid-way as cut: once no live worker holds it, the gateway's cut receipt pays it", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "pocket-node-workers-"));
    const gw = new TestGateway();
    const gateway = await startFakeGateway(TEST_SESSION, { key: gw.key });
    const engine = await startFakeVllm();
    const held = latch();
    engine.faults.pieceGate = { after: 3, open: held.promise };
    const services = engineServices(engine.url);
    try {
      const run = await spawnNode(dataDir, {
        session: TEST_SESSION,
        services,
        workers: 2,
        gateways: [gateway.link],
      });
      const request = gw.request({
        model: "llama-2-13b",
        prompt: "Once upon a time",
        max_tokens: 15,
        ignore_eos: true,
        stream: true,
      });
      const stream = (await makeNodeClient(`${run.url}/trpc`).relayStream.mutate(request))[
        Symbol.asyncIterator
      ]();
      const first = await stream.next();
      const head = first.value!.chain;
      expect(first.value!.final).toBeUndefined();
      const { sessionId } = request.header;
      const client = makeNodeClient(`${run.url}/trpc`, { fetch: freshFetch as never });
      const receipt = createStreamCutReceipt(
        {
          nodeAddress: (await client.info.query()).address,
          sessionId,
          requestHash: relayRequestHash(request),
          chain: head,
          outputTokens: 1,
          computeUnits: 120,
          issuedAt: Date.now(),
        },
        gw.key,
      );
      const settle = () =>
        client.settleCut.mutate(receipt).then(
          (settled) => settled.status,
          (e: Error) => pocketCodeOf(e),
        );
      // Still served: whichever worker takes the receipt, it is asked again later.
      for (let i = 0; i < 2; i++) expect(await settle()).toBe("UNKNOWN_RELAY");

      // Each worker killed outright in turn (the one serving the stream dies with it), each
      // replaced before the next dies, so a live worker always takes connections.
      const workers = childrenOf(run.child.pid!);
      for (const [killed, victim] of workers.entries()) {
        process.kill(victim, "SIGKILL");
        await eventually(
          async () => run.stderr().split("NODE_WORKER_EXITED").length > killed + 1,
          "the primary to see its worker exit",
        );
        await eventually(async () => {
          const seen = new Set<number | undefined>();
          for (let i = 0; i < 4; i++) seen.add(await workerOf(run.url).catch(() => undefined));
          return seen.has(1) && seen.has(2);
        }, "a replacement worker serving");
      }
      await stream.next().catch(() => undefined);
      held.open();
      // The primary dropped the dead workers' hashes: no live worker holds the stream.
      expect(await settle()).toBe("settled");
      expect(await settle()).toBe("unchanged");
      run.child.kill("SIGTERM");
      expect(await exited(run.child)).toBe(0);
      await afterSession(dataDir, services, request, async (node) => {
        expect(node.relays.leaves(sessionId, gw.key.address)).toEqual([
          { leafHash: bytesToHex(relayLeafHash(relayRequestHash(request), head)), computeUnits: 120 },
        ]);
      });
    } finally {
      held.open();
      await engine.close();
      await gateway.close();
    }
  }, 180_000);

  it("drains a worker whose primary died: the relay in flight is answered and recorded", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "pocket-node-workers-"));
    const gw = new TestGateway();
    const engine = await startFakeVllm();
    const gate = latch();
    engine.faults.gate = gate.promise;
    const services = engineServices(engine.url);
    try {
      const run = await spawnNode(dataDir, { session: TEST_SESSION, services, workers: 2 });
      const workerPids = childrenOf(run.child.pid!);
      const client = makeNodeClient(`${run.url}/trpc`, { fetch: freshFetch as never });
      const request = gw.request({ model: "llama-2-13b", prompt: "Held at the engine", max_tokens: 3 });
      const pending = client.relay.mutate(request);
      await until(() => engine.calls["POST /v1/completions"] === 1, "the relay at the engine");
      run.child.kill("SIGKILL");
      await exited(run.child);
      gate.open();
      expect((await pending).outcome).toBe("ok");
      // Both workers stop by themselves once their relays are recorded.
      await eventually(async () => workerPids.every(gone), "the orphaned workers to exit");
      await afterSession(dataDir, services, request, async (node) => {
        expect(node.relays.leaves(request.header.sessionId, gw.key.address)).toHaveLength(1);
      });
    } finally {
      gate.open();
      await engine.close();
    }
  }, 180_000);
});
