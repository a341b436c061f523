import { pocketCodeOf } from "@pocket-ai/link";
import { createStreamCutReceipt, generateKeyPair, relayRequestHash } from "@pocket-ai/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NodeHarness, startTestNode, TestGateway } from "./helpers/node-harness.js";

/**
 * A gateway's stream cut receipts, sent to a node over its tRPC API: what the node answers, and
 * what it refuses with a message saying why.
 */

let h: NodeHarness;
const gw = new TestGateway();

beforeAll(async () => {
  h = await startTestNode({ gateways: [{ url: "http://127.0.0.1:9/trpc", address: gw.key.address }] });
});
afterAll(async () => {
  await h.stop();
});

const completion = { model: "llama-2-13b", prompt: "Once upon a time", max_tokens: 8, temperature: 0 };

/** The gateway's receipt for `request`'s relay (a share of 1 output token, 100 compute units by default). */
const receiptFor = (
  request: ReturnType<typeof gw.request>,
  over: Partial<Parameters<typeof createStreamCutReceipt>[0]> = {},
) =>
  createStreamCutReceipt(
    {
      nodeAddress: h.node.key.address,
      sessionId: request.header.sessionId,
      requestHash: relayRequestHash(request),
      chain: "ab".repeat(32),
      outputTokens: 1,
      computeUnits: 100,
      issuedAt: Date.now(),
      ...over,
    },
    gw.key,
  );

/** The node's refusal of `input` (its code and message), or `undefined` when it took it. */
const refusalOf = (input: unknown) =>
  h.client.settleCut.mutate(input).then(
    () => undefined,
    (error: Error) => ({ code: pocketCodeOf(error), message: error.message }),
  );

const settledMetric = async () => {
  const metrics = await (await fetch(`${h.node.url}/metrics`)).text();
  return Number(/^pocket_node_cut_streams_settled_total\{[^}]*\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
};

describe("stream cut receipts", () => {
  it("that pay a unary relay anything are refused, with why; one of nothing takes its answer out of the claim", async () => {
    const request = gw.request(completion);
    expect((await h.client.relay.mutate(request)).outcome).toBe("ok");
    const leaves = h.node.relays.leaves(request.header.sessionId, gw.key.address);
    expect(leaves).toHaveLength(1);
    // A lower weight under another leaf: no client cut a unary relay short.
    const refusal = await refusalOf(receiptFor(request));
    expect(refusal?.code).toBe("CUT_RECEIPT_REFUSED");
    expect(refusal?.message).toContain("it was a unary relay, not a stream");
    expect(h.node.relays.leaves(request.header.sessionId, gw.key.address)).toEqual(leaves);
    // Nothing paid: the gateway gave the attempt up after sending it and recorded nothing.
    const nothing = receiptFor(request, {
      chain: relayRequestHash(request),
      outputTokens: 0,
      computeUnits: 0,
    });
    expect(await h.client.settleCut.mutate(nothing)).toEqual({ status: "settled" });
    expect(h.node.relays.leaves(request.header.sessionId, gw.key.address)).toEqual([]);
  });

  it("answer `settled` when the streamed relay's row changed, `unchanged` when it already said so", async () => {
    const request = gw.request({ ...completion, stream: true });
    const chunks = [];
    for await (const chunk of await h.client.relayStream.mutate(request)) chunks.push(chunk);
    expect(chunks.at(-1)?.final?.outcome).toBe("ok");
    const before = await settledMetric();
    // A paid share under the request hash names no head the node signed.
    const noHead = await refusalOf(receiptFor(request, { chain: relayRequestHash(request) }));
    expect(noHead?.code).toBe("CUT_RECEIPT_REFUSED");
    expect(noHead?.message).toContain("which no signed head is");
    // The first chunk's head (always signed): the node finished, the gateway cut while the rest came.
    const receipt = receiptFor(request, { chain: chunks[0]!.chain });
    expect(await h.client.settleCut.mutate(receipt)).toEqual({ status: "settled" });
    expect(await h.client.settleCut.mutate(receipt)).toEqual({ status: "unchanged" });
    expect(await settledMetric()).toBe(before + 1);
  });

  it("made out to another node are refused with what to do about it, not a word about keys", async () => {
    const request = gw.request({ ...completion, stream: true });
    const refusal = await refusalOf(receiptFor(request, { nodeAddress: generateKeyPair().address }));
    expect(refusal?.code).toBe("ADDRESS_MISMATCH");
    expect(refusal?.message).toContain("made out to another node than the one that received it");
    expect(refusal?.message).toContain("Send it to the node its nodeAddress names");
    expect(refusal?.message).not.toContain("public key");
  });
});
