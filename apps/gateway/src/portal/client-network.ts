import { createHmac } from "node:crypto";
import { isIPv4, isIPv6 } from "node:net";

/**
 * The network a client is in, for abuse limits: an IPv4 address, or the /64 of an IPv6 address
 * (one subscriber usually holds a whole /64, so per-address limits would be no limit).
 */
export function clientNetwork(address: string): string {
  const plain = address.replace(/^::ffff:/i, "");
  if (isIPv4(plain)) return plain;
  if (!isIPv6(address)) return "unknown";
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

/**
 * The client's address. Behind `trustedProxies` reverse proxies of the operator's own, each of which
 * appends the address it received the request from to `X-Forwarded-For`, the client is the entry
 * that many places from the right: everything left of it was written by whoever sent the request,
 * so it is never believed. With no trusted proxy (0), the socket's address.
 */
export function clientAddress(
  socketAddress: string | undefined,
  forwardedFor: string | undefined,
  trustedProxies: number,
): string {
  const socket = socketAddress ?? "unknown";
  if (trustedProxies <= 0 || forwardedFor === undefined) return socket;
  const hops = forwardedFor
    .split(",")
    .map((hop) => hop.trim())
    .filter((hop) => hop !== "");
  if (hops.length === 0) return socket;
  // Fewer hops than trusted proxies: the leftmost is the furthest any trusted proxy saw.
  const client = hops[Math.max(0, hops.length - trustedProxies)]!;
  return isIPv4(client) || isIPv6(client) || isIPv4(client.replace(/^::ffff:/i, "")) ? client : socket;
}
