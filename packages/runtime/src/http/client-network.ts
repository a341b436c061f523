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

/**
 * The IPv6 /48 a network read by {@link clientNetwork} is in (`2001:db8:1::/48` for
 * `2001:db8:1:2::/64`), or `undefined` for an IPv4 address (or `unknown`). A /64 is one subscriber's
 * network, but a subscriber or a server host is commonly given a /56 or a whole /48 (256 or 65,536
 * /64s): what one holder can send is bounded per /48 as well, the widest block one holder usually
 * gets, and so also every /56 of it.
 */
export function enclosingBlock(network: string): string | undefined {
  if (!network.endsWith("::/64")) return undefined;
  const groups = network.slice(0, -"::/64".length).split(":");
  return groups.length === 4 ? `${groups.slice(0, 3).join(":")}::/48` : undefined;
}

/** An address without the IPv4-mapped prefix, with its family; `undefined` when it is none. */
export function plainAddress(
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

/** This machine's own addresses: a reverse proxy of the operator's beside the server sends from them. */
export const LOOPBACK_BLOCKS: readonly string[] = ["127.0.0.0/8", "::1"];
