import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import {
  addressBlockProblem,
  addressMatcher,
  clientAddress,
  clientNetwork,
  networkTag,
  requestBodySource,
} from "./client-network.js";
import { PortalConfig } from "./portal-config.js";

/** Proxies on this host and on private networks. */
const fromProxy = addressMatcher(["127.0.0.0/8", "::1/128", "10.0.0.0/8", "192.168.0.0/16", "fc00::/7"]);

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
    expect(clientAddress("10.0.0.1", "198.51.100.9", 0, fromProxy)).toBe("10.0.0.1");
    expect(clientAddress("10.0.0.1", "198.51.100.9", 1, fromProxy)).toBe("198.51.100.9");
    expect(clientAddress(undefined, undefined, 1, fromProxy)).toBe("unknown");
    expect(clientAddress("10.0.0.1", " , ", 1, fromProxy)).toBe("10.0.0.1");
  });

  it("takes the entry the trusted proxy appended, never one the client wrote", () => {
    // The client sent `X-Forwarded-For: 203.0.113.66` to dodge its limit; the proxy appended the
    // address it really came from.
    expect(clientAddress("10.0.0.1", "203.0.113.66, 198.51.100.9", 1, fromProxy)).toBe("198.51.100.9");
    // Two proxies of the operator's: the outer one appended the client, the inner one the outer.
    expect(clientAddress("10.0.0.2", "203.0.113.66, 198.51.100.9, 10.0.0.1", 2, fromProxy)).toBe(
      "198.51.100.9",
    );
    // Fewer entries than trusted proxies: the leftmost one.
    expect(clientAddress("10.0.0.2", "198.51.100.9", 3, fromProxy)).toBe("198.51.100.9");
    // Not an address: the socket's.
    expect(clientAddress("10.0.0.1", "evil, not-an-ip", 1, fromProxy)).toBe("10.0.0.1");
  });

  it("trusts only this host's proxies by default", () => {
    const byDefault = addressMatcher(PortalConfig.parse({}).proxyAddresses);
    expect(clientAddress("127.0.0.1", "203.0.113.66", 1, byDefault)).toBe("203.0.113.66");
    expect(clientAddress("::1", "203.0.113.66", 1, byDefault)).toBe("203.0.113.66");
    // A neighbour on the private network (another container, the container runtime's port proxy).
    expect(clientAddress("172.17.0.1", "203.0.113.66", 1, byDefault)).toBe("172.17.0.1");
    expect(clientAddress("10.0.0.9", "203.0.113.66", 1, byDefault)).toBe("10.0.0.9");
  });

  it("reads X-Forwarded-For only on a connection from a proxy's address", () => {
    // A client that reaches the gateway directly, past the proxy, names any address it likes.
    expect(clientAddress("198.51.100.9", "203.0.113.66", 1, fromProxy)).toBe("198.51.100.9");
    expect(clientAddress("2001:db8::5", "203.0.113.66", 1, fromProxy)).toBe("2001:db8::5");
    // The proxy on the same host, over IPv4, IPv6 or an IPv4-mapped IPv6 socket.
    expect(clientAddress("127.0.0.1", "203.0.113.66", 1, fromProxy)).toBe("203.0.113.66");
    expect(clientAddress("::1", "203.0.113.66", 1, fromProxy)).toBe("203.0.113.66");
    expect(clientAddress("::ffff:192.168.4.2", "203.0.113.66", 1, fromProxy)).toBe("203.0.113.66");
    expect(clientAddress("fd12::1", "203.0.113.66", 1, fromProxy)).toBe("203.0.113.66");
    // An operator's own list: only that proxy.
    const only = addressMatcher(["203.0.113.0/24", "2001:db8::7"]);
    expect(clientAddress("203.0.113.4", "198.51.100.9", 1, only)).toBe("198.51.100.9");
    expect(clientAddress("2001:db8::7", "198.51.100.9", 1, only)).toBe("198.51.100.9");
    expect(clientAddress("127.0.0.1", "198.51.100.9", 1, only)).toBe("127.0.0.1");
    expect(clientAddress(undefined, "198.51.100.9", 1, only)).toBe("unknown");
  });

  it("walks the header only through proxies' addresses: a client that skips the outer proxy names nothing", () => {
    // A CDN (203.0.113.0/24) before nginx (10.0.0.5): the CDN appended the client, nginx the CDN.
    const chain = addressMatcher(["10.0.0.5", "203.0.113.0/24"]);
    expect(clientAddress("10.0.0.5", "198.51.100.1, 203.0.113.9", 2, chain)).toBe("198.51.100.1");
    // The client reached nginx directly, writing a CDN-like entry itself: nginx appended the
    // client's real address, which is no proxy's, so nothing left of it is read.
    expect(clientAddress("10.0.0.5", "198.51.100.1, 192.0.2.77", 2, chain)).toBe("192.0.2.77");
    // An entry that is no address ends the walk where it is.
    expect(clientAddress("10.0.0.5", "198.51.100.1, junk", 2, chain)).toBe("10.0.0.5");
  });

  it("takes proxy addresses only as addresses or CIDR blocks", () => {
    for (const good of ["10.0.0.0/8", "127.0.0.1", "fd00::/8", "::1/128", "0.0.0.0/0"])
      expect(addressBlockProblem(good)).toBeUndefined();
    expect(addressBlockProblem("10.0.0.0/33")).toMatch(/prefix length must be 0 to 32/);
    expect(addressBlockProblem("fd00::/129")).toMatch(/prefix length must be 0 to 128/);
    expect(addressBlockProblem("proxy.internal")).toMatch(/not an IP address or a CIDR block/);
    expect(addressBlockProblem("10.0.0.0/8/8")).toMatch(/not an IP address/);
    expect(addressBlockProblem("10.0.0.0/x")).toMatch(/prefix length/);
    const parsed = PortalConfig.safeParse({ proxyAddresses: ["10.0.0.0/8", "lb.example"] });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({
      path: ["proxyAddresses", 1],
      message: '"lb.example" is not an IP address or a CIDR block',
    });
  });

  it("names a private peer that forwards for its clients without being a named proxy, and whose network the body budgets then count", () => {
    const said: string[] = [];
    const request = (peer: string, forwardedFor?: string) =>
      ({
        socket: { remoteAddress: peer },
        headers: forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor },
      }) as unknown as IncomingMessage;
    const defaults = PortalConfig.parse({});
    const sourceOf = requestBodySource(defaults, (peer) => said.push(peer));
    // A container bridge's proxy, not named: every client behind it is that one network.
    expect(sourceOf(request("172.17.0.1", "203.0.113.7"))).toBe("172.17.0.1");
    expect(sourceOf(request("::ffff:10.1.2.3", "203.0.113.8"))).toBe("10.1.2.3");
    // A proxy on this host (the whole budget), a public peer (a client, which may write anything
    // there), a private peer without the header: nothing to say.
    expect(sourceOf(request("127.0.0.1", "203.0.113.7"))).toBeUndefined();
    sourceOf(request("198.51.100.1", "203.0.113.7"));
    sourceOf(request("192.168.1.5"));
    expect(said).toEqual(["172.17.0.1", "10.1.2.3"]);

    // Named, it is believed and nothing is said.
    said.length = 0;
    const named = requestBodySource(
      PortalConfig.parse({ trustProxy: true, proxyAddresses: ["172.17.0.0/16"] }),
      (peer) => said.push(peer),
    );
    expect(named(request("172.17.0.1", "203.0.113.7"))).toBe("203.0.113.7");
    expect(said).toEqual([]);
  });
});
