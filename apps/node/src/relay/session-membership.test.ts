import { generateKeyPair, isNodeInSession, type RelayRequest } from "@pocket-ai/protocol";
import { describe, expect, it } from "vitest";
import { SessionMembership } from "./session-membership.js";

const nodes = Array.from({ length: 12 }, () => ({ address: generateKeyPair().address }));
const me = nodes[0]!.address;
const requestFor = (sessionId: string): RelayRequest =>
  ({
    gateway: { address: "0xgateway" },
    header: { sessionId, serviceId: "llama-2-13b" },
  }) as unknown as RelayRequest;
const sessions = Array.from({ length: 40 }, (_, i) => i.toString(16).padStart(64, "0"));

describe("session membership", () => {
  it("serves every relay until it has a candidate list, then the session's selection of it", () => {
    const membership = new SessionMembership(me, 3);
    expect(membership.check(requestFor(sessions[0]!))).toBe(true);
    membership.update({ "llama-2-13b": nodes }, 3);
    for (const sessionId of sessions) {
      const expected = isNodeInSession(sessionId, nodes, 3, me);
      expect(membership.check(requestFor(sessionId))).toBe(expected);
      expect(membership.check(requestFor(sessionId))).toBe(expected);
    }
  });

  it("keeps a session's pinned list but follows a new set size", () => {
    const membership = new SessionMembership(me, 2);
    membership.update({ "llama-2-13b": nodes }, 2);
    for (const sessionId of sessions) membership.check(requestFor(sessionId));
    membership.update({ "llama-2-13b": nodes.slice(6) }, 12);
    for (const sessionId of sessions) expect(membership.check(requestFor(sessionId))).toBe(true);
  });
});
