import type { AddressInfo } from "node:net";
import { contextFromRequest, makeScoreboardRouter } from "@pocket-ai/link";
import { type FakeTextEngine, startFakeVllm } from "@pocket-ai/node/fakes";
import type { Scoreboard } from "@pocket-ai/protocol";
import { sqliteClient } from "@pocket-ai/runtime";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import Database from "better-sqlite3";
import { Runtime } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { usageReport } from "../src/metering/usage-report.js";
import { type LiveNetwork, startLiveNetwork } from "./support/live-network.js";
import { until } from "./support/until.js";

/**
 * A real gateway and one real node that registered `llama-2-13b` on its standard tier only (750
 * per call), which the evaluator qualifies for `quality-gpt-3.5`. A customer buys that quality
 * service's batch tier (500 per call): the standard node may serve it, but it is weighed at what
 * was sold, on the gateway's ledger and on the node's alike, whole, streamed or cut short.
 */

/** The evaluator's entry for a node that qualifies for `quality-gpt-3.5` under `llama-2-13b`. */
const qualified = (address: string): Scoreboard["nodes"][number] => ({
  address,
  serviceId: "llama-2-13b",
  categories: {},
  overall: { mean: 0.7, lower: 0.65, upper: 0.75, n: 200 },
  qualifies: ["quality-gpt-3.5"],
  speed: { ttftP10Ms: 100, tokensPerSecondP10: 30, samples: 20 },
  errorRate: 0,
  identity: {
    sharedBackendGroup: null,
    declaredModel: "llama-2-13b",
    modelTest: "consistent",
    modelTestPValue: 0.5,
  },
  loglikelihood: "supported",
  updatedAt: Date.now(),
});

/**
 * A live network of one node that serves `llama-2-13b` on its standard tier only, through
 * `backend` (the development backend when absent), and a fake evaluator that qualifies it for
 * `quality-gpt-3.5`; ready once the gateway lists the node for `quality-gpt-3.5:batch`.
 */
async function standardNodeNetwork(backend?: Record<string, unknown>) {
  let board: Scoreboard = { evaluator: "live-evaluator", generatedAt: 0, nodes: [] };
  const evaluator = createHTTPServer({
    router: makeScoreboardRouter({ board: () => board, node: () => null }),
    createContext: contextFromRequest(Runtime.defaultRuntime),
  });
  await new Promise<void>((resolve) => evaluator.listen(0, "127.0.0.1", resolve));
  const net = await startLiveNetwork({
    ...(backend === undefined ? { nodes: 1 } : { backends: [backend] }),
    textService: { tiers: ["standard"] },
    routing: {
      evaluator: { url: `http://127.0.0.1:${(evaluator.address() as AddressInfo).port}`, pollMs: 100 },
    },
  });
  board = {
    evaluator: "live-evaluator",
    generatedAt: Date.now(),
    nodes: [qualified(net.nodes[0]!.node.key.address)],
  };
  const key = await net.newKey();
  // The gateway polls the board: wait until the quality service lists the node.
  await until(async () => {
    const response = await fetch(`${net.gateway.url}/v1/models/quality-gpt-3.5:batch`, {
      headers: { authorization: `Bearer ${key.secret}` },
    });
    const entry = (await response.json()) as { pocket?: { available_nodes?: number } };
    return (entry.pocket?.available_nodes ?? 0) > 0;
  }, "the node qualified at the gateway");
  return {
    net,
    close: async () => {
      await net.close();
      await new Promise<void>((resolve) => {
        evaluator.closeAllConnections();
        evaluator.close(() => resolve());
      });
    },
  };
}

interface Row {
  readonly request_hash: string;
  readonly service_id: string;
  readonly tier: string;
  readonly sold_service_id: string;
  readonly sold_tier: string;
  readonly outcome: string;
  readonly session_id: string;
  readonly leaf_hash: string | null;
  readonly compute_units: number;
  readonly output_tokens: number;
  readonly price_micro_usd: number;
}

/** The key's usage as the customer's reports show it (the portal's usage page, `admin reports usage`). */
const usageOf = async (net: LiveNetwork, keyId: string) => {
  const db = new Database(net.ledgerFile, { readonly: true });
  try {
    return await usageReport(sqliteClient(db), { keyId }, Date.now() + 1);
  } finally {
    db.close();
  }
};

const rowsOf = (net: LiveNetwork, keyId: string): Row[] => {
  const db = new Database(net.ledgerFile, { readonly: true });
  try {
    return db
      .prepare(
        "select request_hash, service_id, tier, sold_service_id, sold_tier, outcome, session_id, leaf_hash, compute_units, output_tokens, price_micro_usd from relays where key_id = ?",
      )
      .all(keyId) as Row[];
  } finally {
    db.close();
  }
};

/** The node's claim leaves, by leaf hash, with the weight it will claim for each. */
const nodeLeaves = (net: LiveNetwork, sessionId: string) =>
  new Map(
    net.nodes[0]!.node.relays.leaves(sessionId, net.gateway.key.address).map((l) => [
      l.leafHash,
      l.computeUnits,
    ]),
  );

const chat = (net: LiveNetwork, secret: string, body: Record<string, unknown>) =>
  fetch(`${net.gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content: "Tell me a story." }], ...body }),
  });

/** Runs `body` while the engine holds its pieces after the first `after` (released after `body`). */
async function holdingPieces<T>(engine: FakeTextEngine, after: number, body: () => Promise<T>): Promise<T> {
  let open!: () => void;
  engine.faults.pieceGate = { after, open: new Promise<void>((resolve) => (open = resolve)) };
  try {
    return await body();
  } finally {
    engine.faults.pieceGate = null;
    open();
  }
}

/** Streams a chat answer and leaves (closes the connection) once some content arrived. */
async function readThenLeave(net: LiveNetwork, secret: string, maxTokens: number): Promise<string> {
  const controller = new AbortController();
  const response = await fetch(`${net.gateway.url}/v1/chat/completions`, {
    method: "POST",
    signal: controller.signal,
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: JSON.stringify({
      model: "quality-gpt-3.5:batch",
      messages: [{ role: "user", content: "Tell me a story." }],
      max_tokens: maxTokens,
      seed: 1,
      stream: true,
    }),
  });
  expect(response.status).toBe(200);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes('"content"')) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the stream ended before the client meant to leave");
    text += decoder.decode(value, { stream: true });
  }
  controller.abort();
  return text;
}

describe("a batch sale served by a node registered for the standard tier", () => {
  let network: Awaited<ReturnType<typeof standardNodeNetwork>>;
  beforeAll(async () => {
    network = await standardNodeNetwork();
  }, 90_000);
  afterAll(async () => {
    await network?.close();
  });

  it("is weighed at the batch price on the gateway's ledger and the node's, whole or streamed", async () => {
    const { net } = network;
    const key = await net.newKey();
    const unary = await chat(net, key.secret, { model: "quality-gpt-3.5:batch", max_tokens: 8 });
    expect(unary.status).toBe(200);
    const streamed = await chat(net, key.secret, {
      model: "quality-gpt-3.5:batch",
      max_tokens: 8,
      stream: true,
    });
    expect(streamed.status).toBe(200);
    await streamed.text();
    await until(() => rowsOf(net, key.key.id).length === 2, "both relays' ledger rows");
    // The customer's usage names what it bought, not the model that served it.
    const usage = await usageOf(net, key.key.id);
    expect(usage.map((u) => [u.serviceId, u.requests])).toEqual([["quality-gpt-3.5", 2]]);
    for (const row of rowsOf(net, key.key.id)) {
      // Served under the node's model service, sold as the quality service: both on the row.
      expect(row).toMatchObject({
        service_id: "llama-2-13b",
        tier: "batch",
        sold_service_id: "quality-gpt-3.5",
        sold_tier: "batch",
        outcome: "ok",
        price_micro_usd: 500,
        compute_units: 500,
      });
      // The node claims the leaf the gateway recorded, at the weight the gateway recorded.
      expect(nodeLeaves(net, row.session_id).get(row.leaf_hash!)).toBe(500);
    }
  }, 60_000);

  it("is weighed at the batch price when the sale names the model, llama-2-13b:batch", async () => {
    const { net } = network;
    const key = await net.newKey();
    const listed = await fetch(`${net.gateway.url}/v1/models/llama-2-13b:batch`, {
      headers: { authorization: `Bearer ${key.secret}` },
    });
    expect(((await listed.json()) as { pocket: { available_nodes: number } }).pocket.available_nodes).toBe(1);
    const response = await chat(net, key.secret, { model: "llama-2-13b:batch", max_tokens: 8 });
    expect(response.status).toBe(200);
    await until(() => rowsOf(net, key.key.id).length === 1, "the relay's ledger row");
    const [row] = rowsOf(net, key.key.id);
    expect(row).toMatchObject({
      service_id: "llama-2-13b",
      tier: "batch",
      sold_service_id: "llama-2-13b",
      sold_tier: "batch",
      outcome: "ok",
      price_micro_usd: 500,
      compute_units: 500,
    });
    expect(nodeLeaves(net, row!.session_id).get(row!.leaf_hash!)).toBe(500);
  }, 60_000);
});

describe("a batch stream its client left, served by a node registered for the standard tier", () => {
  let engine: FakeTextEngine;
  let network: Awaited<ReturnType<typeof standardNodeNetwork>>;
  beforeAll(async () => {
    engine = await startFakeVllm({ flavor: "vllm" });
    network = await standardNodeNetwork({ kind: "vllm", url: engine.url });
  }, 90_000);
  afterAll(async () => {
    await network?.close();
    await engine?.close();
  });

  it("is paid the batch tier's whole weight, as its client paid the batch tier's whole price, which the node's claim holds", async () => {
    const { net } = network;
    const key = await net.newKey();
    // The role and the first tokens go out; the rest waits until the client has gone.
    await holdingPieces(engine, 2, async () => {
      const text = await readThenLeave(net, key.secret, 8);
      expect(text).not.toMatch(/"finish_reason":"[a-z_]+"/);
      await until(() => rowsOf(net, key.key.id).length === 1, "the relay's ledger row");
    });
    const [row] = rowsOf(net, key.key.id);
    expect(row).toMatchObject({ service_id: "llama-2-13b", tier: "batch", outcome: "interrupted" });
    expect(row!.leaf_hash).toMatch(/^[0-9a-f]{64}$/);
    // Leaving was the client's choice: the batch tier's whole weight (not the standard tier's the
    // node registered), as the client paid the batch tier's whole price, with the tokens that
    // reached it.
    expect(row!.output_tokens).toBeGreaterThan(0);
    expect(row!.output_tokens).toBeLessThan(8);
    expect(row!.compute_units).toBe(500);
    expect(row!.compute_units).toBe(row!.price_micro_usd);
    // The node took the gateway's receipt: its claim holds the leaf at the gateway's weight.
    await until(
      () => nodeLeaves(net, row!.session_id).get(row!.leaf_hash!) === row!.compute_units,
      "the node's claim holding the cut stream at the gateway's weight",
    );
  }, 60_000);
});
