import { makeNodeClient, pocketCodeOf } from "@pocket-ai/link";
import { type FakeTextEngine, startFakeVllm } from "@pocket-ai/node/fakes";
import { createStreamCutReceipt, generateKeyPair } from "@pocket-ai/protocol";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LiveNetwork, nodeBlame, startLiveNetwork } from "./support/live-network.js";
import { until } from "./support/until.js";

/**
 * A streaming client that stops reading once it has seen every choice finish (a `break` on
 * `finish_reason`, as many clients do) leaves before the node's closing event, the signed usage
 * that follows the finish. The node served the whole answer and holds its leaf for its claim: the
 * gateway must hold that relay too, under that node, or the claim carries a leaf the gateway does
 * not know (minted nothing for it, and the whole claim rejected if its proof picks that leaf).
 * A client that leaves mid-stream (a user's "stop") made its choice: the node that was serving it
 * must not be counted as failing for it (its standing decides its share of traffic).
 * A real gateway and node in front of a fake vLLM that holds the rest of its stream until the
 * client has gone.
 */

let engine: FakeTextEngine;
let net: LiveNetwork;

beforeAll(async () => {
  engine = await startFakeVllm({ flavor: "vllm" });
  net = await startLiveNetwork({ backends: [{ kind: "vllm", url: engine.url }] });
}, 90_000);
afterAll(async () => {
  await net?.close();
  await engine?.close();
});

interface Row {
  readonly outcome: string;
  readonly error_code: string | null;
  readonly node_address: string | null;
  readonly session_id: string;
  readonly request_hash: string;
  readonly leaf_hash: string | null;
  readonly compute_units: number;
  readonly output_tokens: number;
  readonly price_micro_usd: number;
}

const rowsOf = (keyId: string): Row[] => {
  const db = new Database(net.ledgerFile, { readonly: true });
  try {
    return db
      .prepare(
        "select outcome, error_code, node_address, session_id, request_hash, leaf_hash, compute_units, output_tokens, price_micro_usd from relays where key_id = ?",
      )
      .all(keyId) as Row[];
  } finally {
    db.close();
  }
};

/** Asks for a streamed chat answer; `signal` is the client leaving. */
const askStory = (secret: string, maxTokens: number, signal: AbortSignal) =>
  fetch(`${net.gateway.url}/v1/chat/completions`, {
    method: "POST",
    signal,
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: JSON.stringify({
      model: "llama-2-13b",
      messages: [{ role: "user", content: "Tell me a story." }],
      max_tokens: maxTokens,
      seed: 1,
      stream: true,
    }),
  });

/** Runs `body` while the engine holds its pieces after the first `after` (released after `body`). */
async function holdingPieces<T>(after: number, body: () => Promise<T>): Promise<T> {
  let open!: () => void;
  engine.faults.pieceGate = { after, open: new Promise<void>((resolve) => (open = resolve)) };
  try {
    return await body();
  } finally {
    engine.faults.pieceGate = null;
    open();
  }
}

/**
 * Streams a chat answer and reads until `until` matches what arrived, then closes the connection
 * (the client leaves); returns what it read.
 */
async function readThenLeave(secret: string, maxTokens: number, until: RegExp): Promise<string> {
  const controller = new AbortController();
  const response = await askStory(secret, maxTokens, controller.signal);
  expect(response.status).toBe(200);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!until.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended before the client meant to leave: ${text}`);
    text += decoder.decode(value, { stream: true });
  }
  controller.abort();
  return text;
}

/** Leaves at the first `finish_reason` (a `break` on it). */
const readUntilFinish = (secret: string) => readThenLeave(secret, 1, /"finish_reason":"[a-z_]+"/);

/**
 * The gateway's cut receipts by how they ended (`pocket_gateway_cut_receipts_total`), and the
 * node's count of ledger rows a receipt changed (`pocket_node_cut_streams_settled_total`).
 */
async function cutReceiptCounts(nodeUrl: string) {
  const gateway = await (await fetch(`${net.gateway.url}/metrics`)).text();
  const node = await (await fetch(`${nodeUrl}/metrics`)).text();
  const sample = (text: string, series: string) =>
    Number(new RegExp(`^${series} (\\d+)$`, "m").exec(text)?.[1] ?? 0);
  return {
    settled: sample(gateway, 'pocket_gateway_cut_receipts_total\\{outcome="settled"\\}'),
    unchanged: sample(gateway, 'pocket_gateway_cut_receipts_total\\{outcome="unchanged"\\}'),
    nodeSettled: sample(
      node,
      `pocket_node_cut_streams_settled_total\\{[^}]*gateway="${net.gateway.key.address}"[^}]*\\}`,
    ),
  };
}

describe("a streaming client that leaves", () => {
  it("once every choice has finished: the relay is settled as the whole answer under its node, with the leaf the node claims", async () => {
    const key = await net.newKey();
    const node = net.nodes[0]!.node;
    const rounds = 3;
    for (let i = 0; i < rounds; i++) {
      // The role and the one token (with its finish) go out; the usage chunk, and so the node's
      // closing event, wait until the client has gone.
      await holdingPieces(2, async () => {
        const seen = await readUntilFinish(key.secret);
        expect(seen).not.toContain("[DONE]");
        // Only orders the events (the gateway sees the client leave first); the rows decide.
        await new Promise((resolve) => setTimeout(resolve, 200));
      });
      await until(() => rowsOf(key.key.id).length === i + 1, "the relay's ledger row");
    }
    const rows = rowsOf(key.key.id);
    expect(rows).toHaveLength(rounds);
    for (const row of rows) {
      expect(row).toMatchObject({ outcome: "ok", error_code: null, node_address: node.key.address });
      expect(row.leaf_hash).toMatch(/^[0-9a-f]{64}$/);
      // The whole price of a standard chat call, as for a stream that reached [DONE].
      expect(row.price_micro_usd).toBe(750);
    }
    // Every leaf the node holds for its claim is a relay this gateway verified for it: no proof
    // can pick a leaf the gateway does not know.
    const sessionId = rows[0]!.session_id;
    const leaves = node.relays.leaves(sessionId, net.gateway.key.address).map((l) => l.leafHash);
    expect(leaves.length).toBeGreaterThanOrEqual(rounds);
    const known = new Set(rows.map((r) => r.leaf_hash));
    for (const leaf of leaves) expect(known.has(leaf)).toBe(true);
    // And the charges are in the gateway's metrics, as a stream that reached [DONE] is.
    const metrics = await (await fetch(`${net.gateway.url}/metrics`)).text();
    const charged = /^pocket_gateway_charged_micro_usd_total\{[^}]*\} (\d+)$/m.exec(metrics)?.[1];
    expect(Number(charged)).toBe(750 * rounds);
  }, 60_000);

  it("mid-stream: the client pays the whole call, the node is paid its whole weight by the gateway's signed receipt, and nothing is counted against it", async () => {
    const key = await net.newKey();
    const node = net.nodes[0]!.node;
    const before = nodeBlame(await (await fetch(`${net.gateway.url}/metrics`)).text());
    // The role and the first tokens go out; the rest waits until the client has gone.
    await holdingPieces(2, async () => {
      const text = await readThenLeave(key.secret, 8, /"content"/);
      expect(text).not.toMatch(/"finish_reason":"[a-z_]+"/);
      await until(() => rowsOf(key.key.id).length === 1, "the relay's ledger row");
    });
    // Under the node that served what the client read, with the leaf of the last signed head that
    // covered it and the tokens of it that reached the client; leaving was the client's choice, so
    // it pays the whole call (as a unary answer would) and the node weighs the whole call.
    const [row] = rowsOf(key.key.id);
    expect(row).toMatchObject({
      outcome: "interrupted",
      error_code: "CLIENT_CLOSED",
      node_address: node.key.address,
    });
    expect(row!.leaf_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row!.output_tokens).toBeGreaterThan(0);
    expect(row!.output_tokens).toBeLessThan(8);
    expect(row!.compute_units).toBe(750);
    expect(row!.price_micro_usd).toBe(750);
    // The node took the receipt: the relay is in its claim with the gateway's leaf and weight, so a
    // proof that picks it verifies against the gateway's ledger.
    await until(
      () =>
        node.relays
          .leaves(row!.session_id, net.gateway.key.address)
          .some((l) => l.leafHash === row!.leaf_hash),
      "the node's claim holding the cut stream",
    );
    const leaf = node.relays
      .leaves(row!.session_id, net.gateway.key.address)
      .find((l) => l.leafHash === row!.leaf_hash);
    expect(leaf?.computeUnits).toBe(row!.compute_units);
    const metrics = await (await fetch(`${net.gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/^pocket_gateway_cut_receipts_total\{outcome="settled"\} 1$/m);

    // Only the relay's own gateway can make the node claim a leaf, and only under its signature.
    const client = makeNodeClient(node.trpcUrl);
    const codeOf = (input: unknown) => client.settleCut.mutate(input).then(() => "settled", pocketCodeOf);
    const fields = {
      nodeAddress: node.key.address,
      sessionId: row!.session_id,
      requestHash: row!.request_hash,
      chain: "ab".repeat(32),
      outputTokens: 1,
      computeUnits: 750,
      issuedAt: Date.now(),
    };
    const stranger = createStreamCutReceipt(fields, generateKeyPair());
    expect(await codeOf(stranger)).toBe("UNKNOWN_GATEWAY");
    // The gateway's own word cannot pay more than the node sent, nor settle a relay twice.
    expect(await codeOf(createStreamCutReceipt({ ...fields, outputTokens: 10_000 }, net.gateway.key))).toBe(
      "CUT_RECEIPT_REFUSED",
    );
    expect(await codeOf(createStreamCutReceipt(fields, net.gateway.key))).toBe("CUT_RECEIPT_REFUSED");
    expect(
      await codeOf(createStreamCutReceipt({ ...fields, requestHash: "cd".repeat(32) }, net.gateway.key)),
    ).toBe("UNKNOWN_RELAY");
    expect(await codeOf({ ...stranger, computeUnits: 749 })).toBe("INVALID_SIGNATURE");
    expect(
      await codeOf(
        createStreamCutReceipt({ ...fields, nodeAddress: net.gateway.key.address }, generateKeyPair()),
      ),
    ).toBe("ADDRESS_MISMATCH");
    expect(await codeOf({ v: 1 })).toBe("MALFORMED_ENVELOPE");
    expect(
      node.relays
        .leaves(row!.session_id, net.gateway.key.address)
        .filter((l) => l.leafHash === row!.leaf_hash),
    ).toEqual([{ leafHash: row!.leaf_hash, computeUnits: row!.compute_units }]);
    // The client's choice, not the node's failure: no failure, timeout or sanction for it.
    expect(nodeBlame(metrics)).toEqual(before);
  }, 60_000);

  it("mid-stream, from an engine that streams tokens in pieces: the client pays the whole call the node is paid for, and the row counts no more tokens than the gateway's count of the text", async () => {
    const key = await net.newKey();
    engine.faults.splitTokens = true;
    // Apart in time, so the node passes each piece on as its own chunk.
    engine.faults.pieceDelayMs = 50;
    try {
      // The role and the first words' pieces go out; the rest waits until the client has gone.
      await holdingPieces(12, async () => {
        const text = await readThenLeave(key.secret, 100, /("content":"[^"]+"[\s\S]*){9}/);
        expect(text).not.toMatch(/"finish_reason":"[a-z_]+"/);
        await until(() => rowsOf(key.key.id).length === 1, "the relay's ledger row");
      });
    } finally {
      engine.faults.splitTokens = false;
      engine.faults.pieceDelayMs = 0;
    }
    const [row] = rowsOf(key.key.id);
    expect(row).toMatchObject({ outcome: "interrupted", error_code: "CLIENT_CLOSED" });
    // The client's price and the node's weight agree (the tier's price is its weight): the whole
    // call, however few of the 100 tokens asked for it read. The row counts the words that reached
    // it (nine or more content pieces of split words), not every piece.
    expect(row!.compute_units).toBe(750);
    expect(row!.price_micro_usd).toBe(750);
    expect(row!.output_tokens).toBeGreaterThan(0);
    expect(row!.output_tokens).toBeLessThan(100);
  }, 60_000);

  it("before any output reached it, while the node was still sending: the receipt of nothing changes no row of the node's, and the gateway counts it `unchanged`", async () => {
    const key = await net.newKey();
    const node = net.nodes[0]!.node;
    const before = await cutReceiptCounts(node.url);
    // Only the role chunk goes out (no output: nothing to pay); the rest waits until the client
    // has gone, so the node records the stream cut, out of its claim, before the receipt comes.
    await holdingPieces(1, async () => {
      const text = await readThenLeave(key.secret, 8, /"role":"assistant"/);
      expect(text).not.toMatch(/"content":"[^"]/);
      await until(() => rowsOf(key.key.id).length === 1, "the relay's ledger row");
      await until(
        async () => (await cutReceiptCounts(node.url)).unchanged > before.unchanged,
        "the receipt delivered",
      );
    });
    expect(rowsOf(key.key.id)[0]).toMatchObject({ error_code: "CLIENT_CLOSED", leaf_hash: null });
    expect(await cutReceiptCounts(node.url)).toEqual({ ...before, unchanged: before.unchanged + 1 });
    // The gateway's `settled` and the node's count are of the same receipts: those that changed a row.
    const after = await cutReceiptCounts(node.url);
    expect(after.nodeSettled).toBe(after.settled);
  }, 60_000);

  it("before the first token: the node lets go of the relay at once, and nothing is counted against it", async () => {
    const key = await net.newKey();
    const node = net.nodes[0]!.node;
    const before = nodeBlame(await (await fetch(`${net.gateway.url}/metrics`)).text());
    // The engine holds even its first piece until the client has gone.
    await holdingPieces(0, async () => {
      const controller = new AbortController();
      // The gateway answers nothing before the node's first chunk: the request is left pending.
      const sent = askStory(key.secret, 8, controller.signal).catch(() => undefined);
      await until(() => node.relays.inFlight() === 1, "the node serving the relay");
      controller.abort();
      await sent;
      // Not held until the engine's first piece (never, here) or the tier's timeout.
      await until(() => node.relays.inFlight() === 0, "the node letting go of the relay");
      await until(() => rowsOf(key.key.id).length === 1, "the relay's ledger row");
    });
    expect(rowsOf(key.key.id)[0]).toMatchObject({ error_code: "CLIENT_CLOSED", leaf_hash: null });
    expect(nodeBlame(await (await fetch(`${net.gateway.url}/metrics`)).text())).toEqual(before);
  }, 60_000);

  it("once every choice has finished, from a node that never sends its closing event: settled without it, and counted against the node", async () => {
    const key = await net.newKey();
    const before = nodeBlame(await (await fetch(`${net.gateway.url}/metrics`)).text());
    // The finish goes out; the usage chunk (and so the node's closing event) is held past the wait.
    await holdingPieces(2, async () => {
      await readUntilFinish(key.secret);
      await until(() => rowsOf(key.key.id).length === 1, "the relay's ledger row", 30_000);
    });
    // The whole price (every choice reached the client), but nothing to pay the node for: it
    // never closed (the row names it, with no leaf).
    expect(rowsOf(key.key.id)[0]).toMatchObject({
      outcome: "interrupted",
      error_code: "CLIENT_CLOSED",
      node_address: net.nodes[0]!.node.key.address,
      leaf_hash: null,
      price_micro_usd: 750,
    });
    const after = nodeBlame(await (await fetch(`${net.gateway.url}/metrics`)).text());
    expect(after).not.toEqual(before);
    expect(after.some((line) => line.includes('outcome="UNREACHABLE"'))).toBe(true);
  }, 60_000);
});
