import {
  createRelayRequest,
  DEFAULT_CATALOG,
  deriveSessionHeader,
  findService,
  findTier,
  generateKeyPair,
  relayRequestHash,
  resolveModelName,
  SessionParams,
  verifyRelayRequest,
} from "@pocket-ai/protocol";
import { describe, expect, it } from "vitest";
import type { RegisteredNode } from "../registry/registered-node.js";
import type { Route } from "../routing/route-plan.js";
import type { DispatchRequest } from "./dispatcher.js";
import { signRelay } from "./relay-envelope.js";

const gateway = generateKeyPair();
const node = generateKeyPair();
const app = generateKeyPair();
const session = SessionParams.parse({ mode: "time", genesisMs: 0, sessionLengthMs: 10_000, graceMs: 1_000 });
const now = 1_000_005_000;
const tier = findTier(findService(DEFAULT_CATALOG, "llama-2-13b")!, "standard")!;
const route: Route = {
  node: { address: node.address, offers: new Map() } as unknown as RegisteredNode,
  header: deriveSessionHeader(session, app.address, "llama-2-13b", now),
  servedServiceId: "llama-2-13b",
  servedTier: tier,
};
const resolved = resolveModelName(DEFAULT_CATALOG, "llama-2-13b");
if (!resolved.ok) throw new Error("catalog");
const request: DispatchRequest = {
  application: { id: "app", address: app.address },
  keyId: "key",
  target: resolved.value,
  operation: "chat.completions",
  body: {
    model: "llama-2-13b",
    messages: [{ role: "user", content: "hello" }],
    stream: true,
    stream_options: { include_usage: true },
  },
};

describe("signRelay", () => {
  for (const stream of [false, true]) {
    it(`signs the envelope createRelayRequest would, and names it by its relay hash (stream: ${stream})`, () => {
      const { envelope, requestHash } = signRelay(gateway, route, request, stream, now);
      expect(requestHash).toBe(relayRequestHash(envelope));
      const verified = verifyRelayRequest(envelope, { nodeAddress: node.address });
      expect(verified.ok && verified.value.requestHash).toBe(requestHash);
      const { signature: _signature, v: _v, gateway: _gateway, ...fields } = envelope;
      expect(createRelayRequest(fields, gateway)).toEqual(envelope);
      expect(envelope.payload).toEqual({
        model: "llama-2-13b",
        messages: [{ role: "user", content: "hello" }],
        ...(stream ? { stream: true } : {}),
      });
    });
  }

  it("refuses to sign an envelope the protocol would refuse", () => {
    const bad = { ...route, servedTier: { ...tier, id: "no spaces allowed" } };
    expect(() => signRelay(gateway, bad, request, false, now)).toThrow(/signRelay: invalid field tier/);
  });
});
