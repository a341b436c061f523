import { generateKeyPair, isNodeInSession, type RelayRequest } from "@pocket-ai/protocol";
import { describe, expect, it } from "vitest";
import { SessionMembership } from "./session-membership.js";

const nodes = Array.from({ length: 12 }, () => ({ address: generateKeyPair().address }));
const me = nodes[0]!.address;
const requestVia = (gateway: string, sessionId: string): RelayRequest =>
  ({
    gateway: { address: gateway },
    target: me,
    header: { sessionId, serviceId: "llama-2-13b" },
  }) as unknown as RelayRequest;
const requestFor = (sessionId: string) => requestVia("0xgateway", sessionId);
const sessions = Array.from({ length: 40 }, (_, i) => i.toString(16).padStart(64, "0"));

describe("session membership", () => {
  it("serves every relay until it has a candidate list, then the session's selection of it", () => {
    const membership = new SessionMembership(me);
    expect(membership.check(requestFor(sessions[0]!))).toBe(true);
    membership.update("0xgateway", { "llama-2-13b": nodes }, 3);
    for (const sessionId of sessions) {
      const expected = isNodeInSession(sessionId, nodes, 3, me);
      expect(membership.check(requestFor(sessionId))).toBe(expected);
      expect(membership.check(requestFor(sessionId))).toBe(expected);
    }
  });

  it("keeps a session's pinned list but follows a new set size", () => {
    const membership = new SessionMembership(me);
    membership.update("0xgateway", { "llama-2-13b": nodes }, 2);
    for (const sessionId of sessions) membership.check(requestFor(sessionId));
    membership.update("0xgateway", { "llama-2-13b": nodes.slice(6) }, 12);
    for (const sessionId of sessions) expect(membership.check(requestFor(sessionId))).toBe(true);
  });

  it("refuses a relay that names another node as its target", () => {
    const membership = new SessionMembership(me);
    const other = { ...requestFor(sessions[0]!), target: nodes[1]!.address } as RelayRequest;
    expect(membership.check(other)).toBe(false);
  });
});

describe("session membership of a node serving several gateways", () => {
  // Each gateway selects a session's nodes from its own registry, with its own set size.
  const others = Array.from({ length: 12 }, () => ({ address: generateKeyPair().address }));
  const listA = [{ address: me }, ...others.slice(0, 2)]; // 3 candidates, 3 per session: always in
  const listB = others; // leaves this node out (not registered there for the service, or lying)

  it("checks a gateway's relays against that gateway's list, whatever another gateway answered last", () => {
    const membership = new SessionMembership(me);
    membership.update("pokt1gatewaya", { "llama-2-13b": listA }, 3);
    membership.update("pokt1gatewayb", { "llama-2-13b": listB }, 3);
    for (const sessionId of sessions) {
      expect(isNodeInSession(sessionId, listA, 3, me)).toBe(true);
      expect(membership.check(requestVia("pokt1gatewaya", sessionId))).toBe(true);
      expect(membership.check(requestVia("pokt1gatewayb", sessionId))).toBe(false);
    }
  });

  it("selects with each gateway's own set size", () => {
    const membership = new SessionMembership(me);
    // A: this node among 12 candidates, all of them in every session; B: one node per session.
    const all = [{ address: me }, ...others.slice(0, 11)];
    membership.update("pokt1gatewaya", { "llama-2-13b": all }, 12);
    membership.update("pokt1gatewayb", { "llama-2-13b": all }, 1);
    for (const sessionId of sessions) {
      expect(membership.check(requestVia("pokt1gatewaya", sessionId))).toBe(true);
      expect(membership.check(requestVia("pokt1gatewayb", sessionId))).toBe(
        isNodeInSession(sessionId, all, 1, me),
      );
    }
    // Some of B's sessions leave this node out: its size was not taken for A's.
    expect(sessions.some((s) => !membership.check(requestVia("pokt1gatewayb", s)))).toBe(true);
  });

  it("serves the relays of a gateway it has no list from, as before any list", () => {
    const membership = new SessionMembership(me);
    membership.update("pokt1gatewayb", { "llama-2-13b": listB }, 3);
    for (const sessionId of sessions)
      expect(membership.check(requestVia("pokt1gatewayc", sessionId))).toBe(true);
  });

  it("keeps a gateway's lists of the services its later answer leaves out", () => {
    const membership = new SessionMembership(me);
    membership.update("pokt1gatewayb", { "llama-2-13b": listB }, 3);
    membership.update("pokt1gatewayb", { "mistral-7b": listA }, 3);
    for (const sessionId of sessions)
      expect(membership.check(requestVia("pokt1gatewayb", sessionId))).toBe(false);
  });
});
