import http from "node:http";
import https from "node:https";
import { makeNodeRelayClient, type NodeRelayClient } from "@pocket-ai/link";
import { makeKeepAliveFetch, makeLeanHttpPool, publicAddressLookup } from "@pocket-ai/runtime";
import { Context, Effect, Layer } from "effect";
import { RoutingSettings } from "../routing/routing-config.js";
import { healthCallTimeout } from "../routing/schedules.js";

export type { NodeRelayClient as NodeClient } from "@pocket-ai/link";

/** Sockets one gateway keeps open to one node at most (one per open stream or in-flight relay). */
const MAX_SOCKETS_PER_NODE = 4096;
/**
 * How long a relay's socket stays open unused: well under the node's keep-alive timeout (65 s),
 * so that the node rarely closes one just as it is reused.
 */
const LEAN_IDLE_MS = 30_000;

/**
 * One client per node endpoint, closed with the layer: relays and streams to `http:` nodes on the
 * lean client's pooled sockets, to `https:` nodes on `node:http` keep-alive agents, `info` and
 * `health` through tRPC's client on a keep-alive fetch. Unless `routing.allowPrivateEndpoints`,
 * every socket resolves its node's name to public addresses only, as it opens: a name that
 * resolves elsewhere later than its announcement (DNS rebinding) is not followed. An endpoint that
 * is an IP address is checked when it is announced (`endpoint-address.ts`).
 */
export class NodeClients extends Context.Tag("gateway/NodeClients")<
  NodeClients,
  { readonly get: (endpoint: string) => NodeRelayClient }
>() {
  static readonly layer = Layer.scoped(
    NodeClients,
    Effect.map(
      Effect.acquireRelease(
        // A streamed relay holds its socket until the last chunk: the pool must allow as many
        // sockets per node as the gateway may have streams open to it.
        Effect.map(RoutingSettings, (settings) => {
          const lookup = settings.allowPrivateEndpoints ? undefined : publicAddressLookup;
          const options = {
            keepAlive: true,
            maxSockets: MAX_SOCKETS_PER_NODE,
            scheduling: "lifo" as const,
            ...(lookup === undefined ? {} : { lookup }),
          };
          return {
            fetch: makeKeepAliveFetch({ maxSockets: MAX_SOCKETS_PER_NODE, lookup }),
            http: new http.Agent(options),
            https: new https.Agent(options),
            lean: makeLeanHttpPool({ idleMs: LEAN_IDLE_MS, maxSockets: MAX_SOCKETS_PER_NODE, lookup }),
          };
        }),
        (pool) =>
          Effect.sync(() => {
            pool.fetch.close();
            pool.http.destroy();
            pool.https.destroy();
            pool.lean.close();
          }),
      ),
      (pool) => {
        const clients = new Map<string, NodeRelayClient>();
        return {
          get: (endpoint: string) => {
            let client = clients.get(endpoint);
            if (client === undefined) {
              const agent = endpoint.startsWith("https:") ? pool.https : pool.http;
              client = makeNodeRelayClient(endpoint, { agent, lean: pool.lean, fetch: pool.fetch.fetch });
              clients.set(endpoint, client);
              if (clients.size > 100_000) clients.delete(clients.keys().next().value as string);
            }
            return client;
          },
        };
      },
    ),
  );
}

/**
 * One short question to a node (`health`, `info`) under the health call's time limit: its answer,
 * or `undefined` when the node did not answer, or not in time.
 */
export const askNode = <A>(ask: (signal: AbortSignal) => Promise<A>): Effect.Effect<A | undefined> =>
  Effect.tryPromise({ try: ask, catch: () => "unreachable" as const }).pipe(
    Effect.timeout(healthCallTimeout),
    Effect.orElseSucceed(() => undefined),
  );
