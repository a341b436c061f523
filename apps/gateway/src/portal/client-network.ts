import { createHmac } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { addressMatcher, clientNetwork, LOOPBACK_BLOCKS, plainAddress } from "@pocket-ai/runtime";

// Moved to the runtime (the node reads its callers' networks the same way); kept importable here.
export { addressBlockProblem, addressMatcher, clientNetwork } from "@pocket-ai/runtime";

/** A keyed hash of the network: limits can count by it, and the database keeps no address. */
export function networkTag(secret: Buffer, network: string): string {
  return createHmac("sha256", secret).update(`network:${network}`).digest("hex").slice(0, 32);
}

/**
 * The client's address. Behind `trustedProxies` reverse proxies of the operator's own, each of which
 * appends the address it received the request from to `X-Forwarded-For`, the header is walked from
 * the right, one entry per proxy, for as long as the address at hand is a proxy's (`fromProxy`):
 * the socket's first, then each entry a proxy appended. The client is the first address that is
 * no proxy's, or the entry that many places from the right. Everything left of it was written by
 * whoever sent the request, so it is never believed: a client that reaches any proxy but the
 * outermost directly, or the gateway itself, cannot name its own address. With no trusted proxy
 * (0), or from anywhere else, the socket's address.
 */
export function clientAddress(
  socketAddress: string | undefined,
  forwardedFor: string | undefined,
  trustedProxies: number,
  fromProxy: (address: string | undefined) => boolean,
): string {
  let client = socketAddress ?? "unknown";
  if (trustedProxies <= 0 || forwardedFor === undefined) return client;
  const hops = forwardedFor
    .split(",")
    .map((hop) => hop.trim())
    .filter((hop) => hop !== "");
  // Fewer hops than trusted proxies: the leftmost is the furthest any trusted proxy saw.
  for (let i = hops.length - 1; i >= Math.max(0, hops.length - trustedProxies); i--) {
    if (!fromProxy(client)) break;
    const hop = hops[i] as string;
    // Not an address: nothing further left is believed either.
    if (plainAddress(hop) === undefined) break;
    client = hop;
  }
  return client;
}

/**
 * How the gateway reads a request's network ({@link clientNetwork} of its {@link clientAddress}),
 * behind `trustProxy` proxies of its own at `proxyAddresses` (the portal's settings): the one way
 * every per-network limit (sign-ups, log-ins, new nodes) finds where a request came from.
 */
export function requestNetwork(settings: {
  readonly trustProxy: number;
  readonly proxyAddresses: readonly string[];
}): (req: IncomingMessage) => string {
  const addressOf = requestAddress(settings);
  return (req) => clientNetwork(addressOf(req));
}

/**
 * Whose share of a body budget a request's body counts against: its network, read as
 * {@link requestNetwork} reads it; `undefined` (the whole budget, no share) when that is this
 * machine's loopback: a reverse proxy beside the gateway that `trustProxy` does not name sends
 * every client's request from there, and one share for all of them would starve them all.
 */
export function requestBodySource(
  settings: {
    readonly trustProxy: number;
    readonly proxyAddresses: readonly string[];
  },
  onUntrustedProxy?: (peer: string) => void,
): (req: IncomingMessage) => string | undefined {
  const addressOf = requestAddress(settings);
  const loopback = addressMatcher(LOOPBACK_BLOCKS);
  const untrusted = onUntrustedProxy === undefined ? undefined : untrustedProxy(settings);
  return (req) => {
    const address = addressOf(req);
    if (untrusted !== undefined && req.headers["x-forwarded-for"] !== undefined) {
      const peer = untrusted(req.socket.remoteAddress);
      if (peer !== undefined) onUntrustedProxy?.(peer);
    }
    return loopback(address) ? undefined : clientNetwork(address);
  };
}

/**
 * Private networks a reverse proxy of the operator's on another host or in a container sends from
 * (a container bridge, a load balancer's subnet, carrier-grade NAT, IPv6 unique local addresses).
 */
const PRIVATE_BLOCKS: readonly string[] = [
  "10.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "100.64.0.0/10",
  "fc00::/7",
];

/**
 * The peer of a request that carries `X-Forwarded-For` when it looks like a reverse proxy of the
 * operator's that the settings do not name (a private address, not loopback, not in
 * `proxyAddresses` or with `trustProxy` off), else `undefined`. Behind such a proxy every client
 * counts as the proxy's one network: one share of each body budget, one network's sign-up and
 * log-in limits. A public peer that sends the header is a client, which may write anything there.
 */
function untrustedProxy(settings: {
  readonly trustProxy: number;
  readonly proxyAddresses: readonly string[];
}): (peer: string | undefined) => string | undefined {
  const trusted = addressMatcher(settings.proxyAddresses);
  const loopback = addressMatcher(LOOPBACK_BLOCKS);
  const inPrivate = addressMatcher(PRIVATE_BLOCKS);
  return (peer) => {
    if (peer === undefined || loopback(peer) || !inPrivate(peer)) return undefined;
    if (settings.trustProxy > 0 && trusted(peer)) return undefined;
    return plainAddress(peer)?.address;
  };
}

function requestAddress(settings: {
  readonly trustProxy: number;
  readonly proxyAddresses: readonly string[];
}): (req: IncomingMessage) => string {
  const fromProxy = addressMatcher(settings.proxyAddresses);
  return (req) => {
    const forwarded = req.headers["x-forwarded-for"];
    return clientAddress(
      req.socket.remoteAddress,
      Array.isArray(forwarded) ? forwarded[0] : forwarded,
      settings.trustProxy,
      fromProxy,
    );
  };
}
