import { createHmac } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { BlockList, isIPv4, isIPv6 } from "node:net";

/**
 * The network a client is in, for abuse limits: an IPv4 address, or the /64 of an IPv6 address
 * (one subscriber usually holds a whole /64, so per-address limits would be no limit).
 */
export function clientNetwork(address: string): string {
  const plain = plainAddress(address);
  if (plain === undefined) return "unknown";
  if (plain.family === "ipv4") return plain.address;
  const [head = "", tail = ""] = address.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === "" ? [] : tail.split(":");
  const groups = address.includes("::")
    ? [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

/** A keyed hash of the network: limits can count by it, and the database keeps no address. */
export function networkTag(secret: Buffer, network: string): string {
  return createHmac("sha256", secret).update(`network:${network}`).digest("hex").slice(0, 32);
}

/** An address without the IPv4-mapped prefix, with its family; `undefined` when it is none. */
function plainAddress(
  address: string,
): { readonly address: string; readonly family: "ipv4" | "ipv6" } | undefined {
  const unmapped = address.replace(/^::ffff:/i, "");
  if (isIPv4(unmapped)) return { address: unmapped, family: "ipv4" };
  return isIPv6(address) ? { address, family: "ipv6" } : undefined;
}

/** An address or a CIDR block, read; why it is neither when it is not. */
function parseBlock(
  block: string,
): { readonly address: string; readonly family: "ipv4" | "ipv6"; readonly prefix?: number } | string {
  const [address = "", prefix, ...rest] = block.split("/");
  const plain = plainAddress(address);
  if (plain === undefined || rest.length > 0) return `"${block}" is not an IP address or a CIDR block`;
  if (prefix === undefined) return plain;
  const bits = plain.family === "ipv4" ? 32 : 128;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= bits
    ? { ...plain, prefix: Number(prefix) }
    : `"${block}": the prefix length must be 0 to ${bits}`;
}

/**
 * Why `block` is not an address or a CIDR block (`10.0.0.0/8`, `fd00::/8`, `127.0.0.1`), or
 * `undefined` when it is one.
 */
export function addressBlockProblem(block: string): string | undefined {
  const parsed = parseBlock(block);
  return typeof parsed === "string" ? parsed : undefined;
}

/**
 * Whether an address is in one of `blocks` (addresses or CIDR blocks, each valid by
 * {@link addressBlockProblem}); IPv4-mapped IPv6 addresses count as their IPv4 address.
 */
export function addressMatcher(blocks: readonly string[]): (address: string | undefined) => boolean {
  const list = new BlockList();
  for (const block of blocks) {
    const parsed = parseBlock(block);
    if (typeof parsed === "string") throw new Error(parsed);
    if (parsed.prefix === undefined) list.addAddress(parsed.address, parsed.family);
    else list.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  return (address) => {
    const plain = address === undefined ? undefined : plainAddress(address);
    return plain !== undefined && list.check(plain.address, plain.family);
  };
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
  const fromProxy = addressMatcher(settings.proxyAddresses);
  return (req) => {
    const forwarded = req.headers["x-forwarded-for"];
    return clientNetwork(
      clientAddress(
        req.socket.remoteAddress,
        Array.isArray(forwarded) ? forwarded[0] : forwarded,
        settings.trustProxy,
        fromProxy,
      ),
    );
  };
}
