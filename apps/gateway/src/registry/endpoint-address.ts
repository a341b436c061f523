import dns from "node:dns/promises";
import net from "node:net";
import { isPublicAddress, peerText } from "@pocket-ai/runtime";
import { Effect } from "effect";
import { healthCallTimeout } from "../routing/schedules.js";

/** The most characters of a host a refusal quotes (an announced endpoint may be 2,048 long). */
const HOST_SHOWN_MAX = 256;

/** The host of an announced endpoint as a socket connects to it (an IPv6 address without brackets). */
const hostOf = (endpoint: string): string => {
  const host = new URL(endpoint).hostname;
  return host.startsWith("[") ? host.slice(1, -1) : host;
};

/**
 * Why the gateway will not call `endpoint` when its host is an IP address that is not public
 * (`isPublicAddress`); `undefined` for a public address and for a name (checked as it resolves,
 * see {@link endpointRefusal} and the node clients' lookup). No I/O: the registry's load runs it on
 * rows announced before `routing.allowPrivateEndpoints` was turned off.
 */
export function literalEndpointRefusal(endpoint: string): string | undefined {
  const host = hostOf(endpoint);
  if (net.isIP(host) === 0 || isPublicAddress(host)) return undefined;
  return `the announced endpoint's host ${host} is not a public address (loopback, link-local, private, unique-local, unspecified or multicast)`;
}

/**
 * Why the gateway will not call an announced `endpoint`: its host is, or resolves to, an address
 * that is not public. `undefined` when it may; also when the name does not resolve now, or not
 * within the health call's time: the node is probed as before, and the node clients' lookup
 * refuses whatever the name resolves to later that is not public.
 */
export const endpointRefusal = (endpoint: string): Effect.Effect<string | undefined> => {
  const literal = literalEndpointRefusal(endpoint);
  const host = hostOf(endpoint);
  if (literal !== undefined || net.isIP(host) !== 0) return Effect.succeed(literal);
  return Effect.tryPromise(() => dns.lookup(host, { all: true })).pipe(
    Effect.timeout(healthCallTimeout),
    Effect.map((addresses) => {
      const refused = addresses.map((a) => a.address).filter((a) => !isPublicAddress(a));
      if (refused.length === 0) return undefined;
      return `the announced endpoint's host ${peerText(host, HOST_SHOWN_MAX)} resolves to ${refused.join(", ")}, not a public address (loopback, link-local, private, unique-local, unspecified or multicast)`;
    }),
    Effect.orElseSucceed(() => undefined),
  );
};
