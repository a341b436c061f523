import { describe, expect, it } from "vitest";
import { clientAddress, clientNetwork, networkTag } from "./client-network.js";

describe("client networks for abuse limits", () => {
  it("counts IPv4 by address and IPv6 by /64", () => {
    expect(clientNetwork("203.0.113.7")).toBe("203.0.113.7");
    expect(clientNetwork("::ffff:203.0.113.7")).toBe("203.0.113.7");
    expect(clientNetwork("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(clientNetwork("2001:DB8:1:2:ffff:ffff:ffff:ffff")).toBe("2001:db8:1:2::/64");
    expect(clientNetwork("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(clientNetwork("::1")).toBe("0:0:0:0::/64");
    expect(clientNetwork("not an address")).toBe("unknown");
  });

  it("keeps no address: the tag is a keyed hash", () => {
    const secret = Buffer.alloc(32, 1);
    const tag = networkTag(secret, "203.0.113.7");
    expect(tag).toMatch(/^[0-9a-f]{32}$/);
    expect(tag).not.toContain("203");
    expect(networkTag(Buffer.alloc(32, 2), "203.0.113.7")).not.toBe(tag);
  });

  it("believes X-Forwarded-For only behind a trusted proxy", () => {
    expect(clientAddress("10.0.0.1", "198.51.100.9", 0)).toBe("10.0.0.1");
    expect(clientAddress("10.0.0.1", "198.51.100.9", 1)).toBe("198.51.100.9");
    expect(clientAddress(undefined, undefined, 1)).toBe("unknown");
    expect(clientAddress("10.0.0.1", " , ", 1)).toBe("10.0.0.1");
  });

  it("takes the entry the trusted proxy appended, never one the client wrote", () => {
    // The client sent `X-Forwarded-For: 203.0.113.66` to dodge its limit; the proxy appended the
    // address it really came from.
    expect(clientAddress("10.0.0.1", "203.0.113.66, 198.51.100.9", 1)).toBe("198.51.100.9");
    // Two proxies of the operator's: the outer one appended the client, the inner one the outer.
    expect(clientAddress("10.0.0.2", "203.0.113.66, 198.51.100.9, 10.0.0.1", 2)).toBe("198.51.100.9");
    // Fewer entries than trusted proxies: the leftmost one.
    expect(clientAddress("10.0.0.2", "198.51.100.9", 3)).toBe("198.51.100.9");
    // Not an address: the socket's.
    expect(clientAddress("10.0.0.1", "evil, not-an-ip", 1)).toBe("10.0.0.1");
  });
});
