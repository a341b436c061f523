import http from "node:http";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
function readThenLeave(secret: string, events: number): Promise<void> {
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
        max_tokens: 120,
        stream: true,
      }),
    );
  });
}

interface Row {
  readonly outcome: string;
  readonly session_id: string;
  readonly leaf_hash: string | null;
  readonly compute_units: number;
}

const rowsOf = (keyId: string): Row[] => {
  const db = new Database(net.ledgerFile, { readonly: true });
  try {
    return db
      .prepare("select outcome, session_id, leaf_hash, compute_units from relays where key_id = ?")
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
    const rounds = 8;
    for (let i = 0; i < rounds; i++) {
      await readThenLeave(key.secret, 3);
      await until(() => rowsOf(key.key.id).length === i + 1, "the relay's ledger row");
    }
    const rows = rowsOf(key.key.id);
    const paid = rows.filter((r) => r.leaf_hash !== null);
    expect(paid.length).toBeGreaterThan(0);
    // Every cut the gateway paid has reached its node.
    const cuts = paid.filter((r) => r.outcome === "interrupted").length;
    await until(async () => (await receipts("settled")) >= cuts, "the receipts settled");
    expect(await receipts("settled")).toBe(cuts);
    const sessionId = rows[0]!.session_id;
    const held = node.relays.leaves(sessionId, net.gateway.key.address);
    const recorded = new Map(paid.map((r) => [r.leaf_hash, r.compute_units]));
    // The node claims what the gateway recorded, leaf for leaf and weight for weight.
    expect(held.map((l) => [l.leafHash, l.computeUnits]).sort()).toEqual([...recorded.entries()].sort());
  }, 90_000);
});
