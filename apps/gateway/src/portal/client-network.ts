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

/** The client's address: the socket's, or the first `X-Forwarded-For` hop behind a trusted proxy. */
export function clientAddress(
  socketAddress: string | undefined,
  forwardedFor: string | undefined,
  trustProxy: boolean,
): string {
  const forwarded = trustProxy ? forwardedFor?.split(",")[0]?.trim() : undefined;
  return forwarded !== undefined && forwarded !== "" ? forwarded : (socketAddress ?? "unknown");
}
