import {
  bytesToHex,
  RelayStreamVerifier,
  relayLeafHash,
  relayRequestHash,
  relayResponseHash,
} from "@pocket-ai/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NodeHarness, startTestNode, TestGateway } from "./helpers/node-harness.js";

/**
 * A node that registered `llama-2-13b` on its standard tier only (750 per call) and `mistral-7b`
 * on its batch tier only (500): a gateway may sell it the cheaper tiers its registered ones cover,
 * and each relay is weighed by the tier the gateway's envelope names — what was sold — in the
 * signed answer and in the node's ledger alike.
 */

let h: NodeHarness;
const gw = new TestGateway();

beforeAll(async () => {
  h = await startTestNode({
    services: [
      { serviceId: "llama-2-13b", tiers: ["standard"], backends: [{ kind: "dev" }] },
      { serviceId: "mistral-7b", tiers: ["batch"], backends: [{ kind: "dev" }] },
    ],
  });
});
afterAll(async () => {
  await h.stop();
});

const leafWeight = (sessionId: string, leafHash: string) =>
  h.node.relays.leaves(sessionId, gw.key.address).find((l) => l.leafHash === leafHash)?.computeUnits;

describe("a standard node sold a batch relay", () => {
  it("serves it and weighs it at the batch tier's 500, in its answer and its claim", async () => {
    const request = gw.request(
      { model: "llama-2-13b", prompt: "Once upon a time", max_tokens: 8 },
      { tier: "batch" },
    );
    const response = await h.client.relay.mutate(request);
    expect(response.outcome).toBe("ok");
    expect(response.computeUnits).toBe(500);
    const leaf = bytesToHex(relayLeafHash(response.requestHash, relayResponseHash(response)));
    expect(leafWeight(request.header.sessionId, leaf)).toBe(500);
  });

  it("weighs a batch of prompts as that many batch calls", async () => {
    const request = gw.request(
      { model: "llama-2-13b", prompt: ["One", "Two", "Three"], max_tokens: 4 },
      { tier: "batch" },
    );
    const response = await h.client.relay.mutate(request);
    expect(response.outcome).toBe("ok");
    expect(response.computeUnits).toBe(1500);
  });

  it("weighs its stream at 500 in the signed final chunk and the claim", async () => {
    const request = gw.request(
      { model: "llama-2-13b", prompt: "Once upon a time", max_tokens: 8, stream: true },
      { tier: "batch" },
    );
    const verifier = new RelayStreamVerifier({
      publicKey: h.node.key.publicKeyHex,
      requestHash: relayRequestHash(request),
    });
    for await (const chunk of await h.client.relayStream.mutate(request))
      expect(verifier.accept(chunk).ok).toBe(true);
    expect(verifier.final).toMatchObject({ outcome: "ok", computeUnits: 500 });
    const leaf = bytesToHex(relayLeafHash(verifier.requestHash, verifier.chain));
    expect(leafWeight(request.header.sessionId, leaf)).toBe(500);
  });

  it("still weighs its own standard tier's relays at 750", async () => {
    const response = await h.client.relay.mutate(
      gw.request({ model: "llama-2-13b", prompt: "Hi", max_tokens: 2 }),
    );
    expect(response.computeUnits).toBe(750);
  });
});

describe("a relay for a tier no registered tier covers", () => {
  it("is refused, signed, with UNKNOWN_TIER: a dearer tier, or larger limits", async () => {
    const dearer = await h.client.relay.mutate(
      gw.request(
        { model: "mistral-7b", prompt: "Hi", max_tokens: 2 },
        { serviceId: "mistral-7b", tier: "standard" },
      ),
    );
    expect(dearer.outcome).toBe("error");
    expect(dearer.error?.code).toBe("UNKNOWN_TIER");
    expect(dearer.computeUnits).toBe(0);
    const larger = await h.client.relay.mutate(
      gw.request({ model: "llama-2-13b", prompt: "Hi", max_tokens: 2 }, { tier: "long-context" }),
    );
    expect(larger.error?.code).toBe("UNKNOWN_TIER");
    const served = await h.client.relay.mutate(
      gw.request(
        { model: "mistral-7b", prompt: "Hi", max_tokens: 2 },
        { serviceId: "mistral-7b", tier: "batch" },
      ),
    );
    expect(served.computeUnits).toBe(500);
  });
});
