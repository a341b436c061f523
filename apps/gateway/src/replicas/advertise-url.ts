import { isIP } from "node:net";
import { type NetworkInterfaceInfo, networkInterfaces } from "node:os";

/** Listen hosts that name no one address: every interface. */
const UNSPECIFIED = new Set(["0.0.0.0", "::", "[::]", ""]);

/**
 * The URL the other replicas reach this one at: `configured` when set; else the listen address
 * when it names one host (`127.0.0.1`, `10.0.3.7`, a host name); else, for `0.0.0.0` / `::`, the
 * machine's one non-internal IPv4 address (a container's or a VM's private address). `undefined`
 * when there is no single answer (several such addresses): the operator must set it.
 *
 * `interfaces` is injectable for tests (defaults to the machine's own).
 */
export function advertiseUrlOf(
  listen: { readonly host: string; readonly port: number },
  configured: string | undefined,
  interfaces: () => NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces,
): string | undefined {
  if (configured !== undefined) return configured.replace(/\/+$/, "");
  if (!UNSPECIFIED.has(listen.host)) return `http://${hostPart(listen.host)}:${listen.port}`;
  const addresses = Object.values(interfaces())
    .flatMap((list) => list ?? [])
    .filter((i) => i.family === "IPv4" && !i.internal)
    .map((i) => i.address);
  const unique = [...new Set(addresses)];
  return unique.length === 1 ? `http://${unique[0]}:${listen.port}` : undefined;
}

/** An IPv6 literal goes in brackets in a URL. */
const hostPart = (host: string) => (isIP(host) === 6 ? `[${host}]` : host);
