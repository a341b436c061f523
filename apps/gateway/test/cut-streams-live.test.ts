import http from "node:http";
import { connect, createServer, type Server, type Socket } from "node:net";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onFreePort } from "./support/free-port.js";
import { type LiveNetwork, startLiveNetwork } from "./support/live-network.js";
import { until } from "./support/until.js";

/**
 * Streaming clients that leave after a few events, in front of a node on the development backend,
 * which answers at once: the node has often sent its whole stream (its final chunk, its ledger row
 * `ok` with the final leaf) while the gateway is still passing the first chunks on. The gateway
 * bills and pays what reached the client, and its signed receipt must bring the node's row to the
 * same leaf and weight: a node leaf the gateway never recorded would get the node's whole claim
 * rejected when a proof picked it.
 */

let net: LiveNetwork;

beforeAll(async () => {
  net = await startLiveNetwork({ nodes: 1 });
}, 90_000);
afterAll(async () => {
  await net?.close();
});

/** Streams a chat answer and closes the connection once `events` data events arrived. */
function readThenLeave(secret: string, events: number, maxTokens = 120): Promise<void> {
  const url = new URL(`${net.gateway.url}/v1/chat/completions`);
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      },
      (response) => {
        let seen = 0;
        let text = "";
        response.on("data", (data: Buffer) => {
          text += data.toString("utf8");
          seen = text.split("\n\n").filter((e) => e.startsWith("data: {")).length;
          if (seen >= events) {
            request.destroy();
            resolve();
          }
        });
        response.on("end", () => reject(new Error(`the stream ended after ${seen} events`)));
      },
    );
    request.on("error", () => undefined);
    request.end(
      JSON.stringify({
        model: "llama-2-13b",
        messages: [{ role: "user", content: "Write a long story about the history of France and Spain" }],
        max_tokens: maxTokens,
        // Seeded: the development model then answers at length every time (unseeded, a short
        // answer could end before the client meant to leave).
        seed: 3,
        stream: true,
      }),
    );
  });
}

interface Row {
  readonly outcome: string;
  readonly error_code: string | null;
  readonly session_id: string;
  readonly leaf_hash: string | null;
  readonly compute_units: number;
}

const rowsOf = (keyId: string): Row[] => {
  const db = new Database(net.ledgerFile, { readonly: true });
  try {
    return db
      .prepare(
        "select outcome, error_code, session_id, leaf_hash, compute_units from relays where key_id = ?",
      )
      .all(keyId) as Row[];
  } finally {
    db.close();
  }
};

const receipts = async (outcome: string) => {
  const metrics = await (await fetch(`${net.gateway.url}/metrics`)).text();
  const line = new RegExp(`^pocket_gateway_cut_receipts_total\\{outcome="${outcome}"\\} (\\d+)$`, "m");
  return Number(line.exec(metrics)?.[1] ?? 0);
};

describe("streams cut short by their clients, in front of a node that answers at once", () => {
  it("leave the node's claim holding exactly the leaves and weights the gateway recorded", async () => {
    const key = await net.newKey();
    const node = net.nodes[0]!.node;
    // Leaving after 3 events of a long answer (paid in part), and after the first event of a
    // short one (its role chunk: nothing paid, while the node has often finished the answer).
    const rounds = [
      ...Array.from({ length: 8 }, () => [3, 120] as const),
      ...Array.from({ length: 8 }, () => [1, 3] as const),
    ];
    for (const [i, [events, maxTokens]] of rounds.entries()) {
      await readThenLeave(key.secret, events, maxTokens);
      await until(() => rowsOf(key.key.id).length === i + 1, "the relay's ledger row");
    }
    const rows = rowsOf(key.key.id);
    const paid = rows.filter((r) => r.leaf_hash !== null);
    expect(paid.length).toBeGreaterThan(0);
    // Every cut the gateway paid, or paid nothing of, has reached its node: `settled` where the
    // node's row changed (the node counts those too), `unchanged` where it already said the same
    // (a stream it had recorded cut, out of its claim, and paid nothing).
    const cuts = rows.filter((r) => r.error_code === "CLIENT_CLOSED").length;
    const taken = async () => (await receipts("settled")) + (await receipts("unchanged"));
    await until(async () => (await taken()) >= cuts, "the receipts taken");
    expect(await taken()).toBe(cuts);
    const nodeMetrics = await (await fetch(`${node.url}/metrics`)).text();
    const nodeSettled = /^pocket_node_cut_streams_settled_total\{[^}]*\} (\d+)$/m.exec(nodeMetrics)?.[1];
    expect(Number(nodeSettled ?? 0)).toBe(await receipts("settled"));
    const sessionId = paid[0]!.session_id;
    const held = node.relays.leaves(sessionId, net.gateway.key.address);
    const recorded = new Map(paid.map((r) => [r.leaf_hash, r.compute_units]));
    // The node claims what the gateway recorded, leaf for leaf and weight for weight.
    expect(held.map((l) => [l.leafHash, l.computeUnits]).sort()).toEqual([...recorded.entries()].sort());
  }, 90_000);
});

/**
 * A TCP proxy that passes the node's bytes on slowly (600 bytes every 50 ms): a node far from its
 * gateway has sent its whole stream, final chunk included, while the gateway is still reading the
 * first chunks, and its ledger already holds the whole answer's leaf.
 */
function slowLink(upstreamPort: number): Promise<{ server: Server; port: number }> {
  const server = createServer((down: Socket) => {
    const up = connect(upstreamPort, "127.0.0.1");
    let queue = Buffer.alloc(0);
    const timer = setInterval(() => {
      const part = queue.subarray(0, 600);
      queue = queue.subarray(600);
      if (part.length > 0 && !down.destroyed) down.write(part);
      else if (up.destroyed && queue.length === 0) down.destroy();
    }, 50);
    down.on("data", (data) => up.write(data));
    up.on("data", (data) => {
      queue = Buffer.concat([queue, data]);
    });
    down.on("close", () => {
      clearInterval(timer);
      up.destroy();
    });
    down.on("error", () => up.destroy());
    up.on("error", () => down.destroy());
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ server, port: (server.address() as { port: number }).port }),
    ),
  );
}

describe("a stream cut before anything was paid, in front of a node far from its gateway", () => {
  let far: LiveNetwork;
  let link: { server: Server; port: number };
  beforeAll(async () => {
    far = await onFreePort(async (nodePort) => {
      link = await slowLink(nodePort);
      try {
        return await startLiveNetwork({
          nodes: 1,
          nodeSettings: {
            listen: { host: "127.0.0.1", port: nodePort },
            publicUrl: `http://127.0.0.1:${link.port}`,
          },
        });
      } catch (e) {
        link.server.close();
        throw e;
      }
    });
  }, 90_000);
  afterAll(async () => {
    await far?.close();
    link?.server.close();
  });

  it("leaves the node claiming nothing of it, though the node had sent it whole", async () => {
    const key = await far.newKey();
    const node = far.nodes[0]!.node;
    const metric = async (url: string, name: string) => {
      const metrics = await (await fetch(`${url}/metrics`)).text();
      const series = name.endsWith("}") ? name : `${name}\\{[^}]*\\}`;
      return Number(new RegExp(`^${series} (\\d+)$`, "m").exec(metrics)?.[1] ?? 0);
    };
    // The client reads the role chunk (no output: nothing to pay) and leaves; the node, far away,
    // has sent the whole answer and recorded it `ok` with its leaf.
    const controller = new AbortController();
    const response = await fetch(`${far.gateway.url}/v1/chat/completions`, {
      method: "POST",
      signal: controller.signal,
      headers: { authorization: `Bearer ${key.secret}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "llama-2-13b",
        messages: [{ role: "user", content: "Tell me a story." }],
        max_tokens: 40,
        stream: true,
      }),
    });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes('"role":"assistant"')) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the stream ended before the client meant to leave");
      text += decoder.decode(value, { stream: true });
    }
    controller.abort();
    // The gateway paid nothing and records no leaf; its receipt of nothing took the node's leaf out.
    const settled = 'pocket_gateway_cut_receipts_total\\{outcome="settled"\\}';
    await until(
      async () => (await metric(far.gateway.url, "pocket_gateway_cut_receipts_total")) === 1,
      "the receipt",
    );
    // The node had the answer whole: its row changed (a cut row would have needed no change, and
    // the gateway would count the receipt `unchanged`), and both sides count it `settled`.
    expect(await metric(far.gateway.url, settled)).toBe(1);
    expect(await metric(node.url, "pocket_node_cut_streams_settled_total")).toBe(1);
    for (const session of node.relays.unclaimedSessions(Number.MAX_SAFE_INTEGER))
      expect(node.relays.leaves(session.sessionId, far.gateway.key.address)).toEqual([]);
  }, 90_000);
});
