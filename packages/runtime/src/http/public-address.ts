import dns from "node:dns";
import net from "node:net";

/**
 * Addresses that reach no one on the public internet: loopback, link-local (cloud metadata at
 * 169.254.169.254 among them), private (RFC 1918), shared (CGNAT, 100.64/10), unique-local,
 * unspecified, multicast and reserved. A peer that names one of them as its address points the
 * caller at its own machine or network. IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`), and
 * NAT64 and 6to4 addresses, are checked as the IPv4 address they carry.
 */
const NOT_PUBLIC = new net.BlockList();
for (const [prefix, bits] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
  ["224.0.0.0", 4],
  // Reserved, and the broadcast address.
  ["240.0.0.0", 4],
] as const)
  NOT_PUBLIC.addSubnet(prefix, bits, "ipv4");
for (const [prefix, bits] of [
  ["::", 128],
  ["::1", 128],
  ["fe80::", 10],
  // Site-local: deprecated, still routed as private where it is configured.
  ["fec0::", 10],
  ["fc00::", 7],
  ["ff00::", 8],
] as const)
  NOT_PUBLIC.addSubnet(prefix, bits, "ipv6");

/**
 * Whether `address` (an IPv4 or IPv6 address, without brackets) is one a stranger may point this
 * machine at: not loopback, link-local, private, shared, unique-local, unspecified, multicast or
 * reserved. `false` for anything that is not an IP address.
 */
export function isPublicAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 0) return false;
  if (family === 4) return !NOT_PUBLIC.check(address, "ipv4");
  if (NOT_PUBLIC.check(address, "ipv6")) return false;
  // A translated address carries an IPv4 address that a NAT64 gateway (the well-known
  // 64:ff9b::/96) or a 6to4 relay (2002::/16) reaches for the caller: it is as public as that
  // address is. The local-use NAT64 prefix (64:ff9b:1::/48) is the operator's own network.
  const groups = ipv6Groups(address);
  if (groups === undefined) return false;
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = groups;
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) return false;
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0)
    return !NOT_PUBLIC.check(ipv4Of(g6, g7), "ipv4");
  if (g0 === 0x2002) return !NOT_PUBLIC.check(ipv4Of(g1, g2), "ipv4");
  return true;
}

/** The eight 16-bit groups of an IPv6 address (`::` expanded, a dotted IPv4 tail read as two). */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted !== null) {
    const bytes = dotted[1]!.split(".").map(Number);
    text = `${text.slice(0, dotted.index)}${((bytes[0]! << 8) | bytes[1]!).toString(16)}:${((bytes[2]! << 8) | bytes[3]!).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const part = (s: string) => (s === "" ? [] : s.split(":").map((g) => Number.parseInt(g, 16)));
  const front = part(head);
  const back = tail === undefined ? [] : part(tail);
  const groups =
    tail === undefined
      ? front
      : [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff)
    ? groups
    : undefined;
}

const ipv4Of = (high: number, low: number) => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;

/** A name that resolved to no public address: the connection is not attempted. */
export class NotPublicAddressError extends Error {
  readonly code = "ENOTPUBLIC";
  constructor(
    readonly hostname: string,
    readonly addresses: readonly string[],
  ) {
    super(`${hostname} resolves to no public address (${addresses.join(", ")}): not connected`);
    this.name = "NotPublicAddressError";
  }
}

/**
 * A `lookup` for `net.connect` and `http.Agent` that connects to public addresses only
 * ({@link isPublicAddress}): the addresses a name resolves to that are not public are dropped,
 * and a name with none left fails with {@link NotPublicAddressError}. The check is made on the
 * address actually connected to, each time a socket opens, so a name that resolved to a public
 * address once and to a private one later (DNS rebinding) is not followed. `net.connect` calls
 * no lookup for an IP address: check those with {@link isPublicAddress} before.
 */
export const publicAddressLookup: net.LookupFunction = (hostname, options, callback) => {
  const wanted: dns.LookupAllOptions = { all: true };
  if (options.family !== undefined) wanted.family = options.family;
  if (options.hints !== undefined) wanted.hints = options.hints;
  dns.lookup(hostname, wanted, (error, addresses) => {
    if (error !== null) return callback(error, "", 0);
    const kept = addresses.filter((a) => isPublicAddress(a.address));
    const first = kept[0];
    if (first === undefined) {
      const refused = addresses.map((a) => a.address);
      return callback(new NotPublicAddressError(hostname, refused), "", 0);
    }
    if (options.all === true) return callback(null, kept);
    callback(null, first.address, first.family);
  });
};
