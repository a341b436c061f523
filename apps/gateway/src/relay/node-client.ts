// The node's router type crosses the app boundary as a type only. Its sources are type-checked
// with this program, so the node's ambient declaration for an untyped tokenizer comes along.

import type { NodeRouter } from "@pocket-ai/node/router";
import { NODE_PROCEDURES } from "@pocket-ai/protocol";
import { type KeepAliveFetch, makeKeepAliveFetch } from "@pocket-ai/runtime";
import { createTRPCClient, httpBatchStreamLink, httpLink, splitLink } from "@trpc/client";
import { Context, Effect, Layer } from "effect";

/** Sockets one gateway keeps open to one node at most (one per open stream or in-flight relay). */
const MAX_SOCKETS_PER_NODE = 4096;

/**
 * A typed tRPC client for one node: `relay`, `info` and `health` over plain `httpLink`;
 * `relayStream` over `httpBatchStreamLink` with one operation per request, so each stream has
 * its own HTTP response (and its own abort).
 */
export function makeNodeClient(endpoint: string, fetch: KeepAliveFetch["fetch"]) {
  const fetchOption = { fetch: fetch as never };
  return createTRPCClient<NodeRouter>({
    links: [
      splitLink({
        condition: (op) => op.path === NODE_PROCEDURES.relayStream,
        true: httpBatchStreamLink({ url: endpoint, maxItems: 1, ...fetchOption }),
        false: httpLink({ url: endpoint, ...fetchOption }),
      }),
    ],
  });
}

export type NodeClient = ReturnType<typeof makeNodeClient>;

/** One client per node endpoint, sharing one pool of keep-alive sockets, closed with the layer. */
export class NodeClients extends Context.Tag("gateway/NodeClients")<
  NodeClients,
  { readonly get: (endpoint: string) => NodeClient }
>() {
  static readonly layer = Layer.scoped(
    NodeClients,
    Effect.map(
      Effect.acquireRelease(
        // A streamed relay holds its socket until the last chunk: the pool must allow as many
        // sockets per node as the gateway may have streams open to it.
        Effect.sync(() => makeKeepAliveFetch({ maxSockets: MAX_SOCKETS_PER_NODE })),
        (pool) => Effect.sync(() => pool.close()),
      ),
      (pool) => {
        const clients = new Map<string, NodeClient>();
        return {
          get: (endpoint: string) => {
            let client = clients.get(endpoint);
            if (client === undefined) {
              client = makeNodeClient(endpoint, pool.fetch);
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
