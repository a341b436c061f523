import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateKeyPair } from "../crypto/index.js";
import { deriveSessionHeader, isNodeInSession, type SessionParams } from "../session/index.js";
import { RegistrationAck } from "./registration-ack.js";

const gateway = generateKeyPair();
const nodes = Array.from({ length: 6 }, () => generateKeyPair());
const session: SessionParams = { mode: "time", genesisMs: 0, sessionLengthMs: 3_600_000, graceMs: 60_000 };

const ack: RegistrationAck = {
  accepted: true,
  gatewayAddress: gateway.address,
  session,
  nodesPerSession: 3,
  registry: {
    "llama-2-13b": nodes.map((n, i) => ({ address: n.address, registeredAt: 1_700_000_000_000 + i })),
  },
  nextAnnounceMs: 60_000,
};

describe("RegistrationAck", () => {
  it("parses a gateway's answer after a JSON round trip", () => {
    expect(RegistrationAck.parse(JSON.parse(JSON.stringify(ack)))).toEqual(ack);
    const refused = { ...ack, accepted: false, registry: {}, detail: "operator share cap reached" };
    expect(RegistrationAck.parse(refused)).toEqual(refused);
  });

  it("drops a field this version does not know, so a gateway can be upgraded before its nodes", () => {
    const newer = { ...ack, detail: "ok", regionHint: "eu-west", limits: { rpm: 60 } };
    const parsed = RegistrationAck.parse(JSON.parse(JSON.stringify(newer)));
    expect(parsed).toEqual({ ...ack, detail: "ok" });
    expect(parsed).not.toHaveProperty("regionHint");
  });

  it("lets a node recompute session membership exactly as the gateway does", () => {
    const app = generateKeyPair().address;
    const header = deriveSessionHeader(ack.session, app, "llama-2-13b", 1_700_000_123_456);
    const candidates = ack.registry["llama-2-13b"] ?? [];
    const members = nodes.filter((n) =>
      isNodeInSession(header.sessionId, candidates, ack.nodesPerSession, n.address),
    );
    expect(members).toHaveLength(3);
  });

  it.each([
    ["a bad gateway address", { gatewayAddress: "pokt1nope" }],
    ["zero nodes per session", { nodesPerSession: 0 }],
    ["a malformed service id", { registry: { "Llama 2": [] } }],
    ["a candidate with a bad address", { registry: { "llama-2-13b": [{ address: "x", registeredAt: 1 }] } }],
    ["a fractional announce interval", { nextAnnounceMs: 1.5 }],
    [
      "an unknown field in a candidate",
      { registry: { "llama-2-13b": [{ address: gateway.address, registeredAt: 1, weight: 2 }] } },
    ],
    ["an unknown field in the session params", { session: { ...session, epochMs: 5 } }],
    ["a known field of the wrong type", { accepted: "yes" }],
    ["bad session params", { session: { mode: "time", genesisMs: 0, sessionLengthMs: 0, graceMs: 0 } }],
  ])("refuses %s", (_name, change) => {
    expect(RegistrationAck.safeParse({ ...ack, ...change }).success).toBe(false);
  });

  it("never throws on arbitrary input", () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        expect(RegistrationAck.safeParse(input).success).toBe(false);
      }),
    );
  });
});
