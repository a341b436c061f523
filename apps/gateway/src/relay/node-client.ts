import { makeNodeClient, type NodeClient } from "@pocket-ai/link";
import { makeKeepAliveFetch } from "@pocket-ai/runtime";
import { Context, Effect, Layer } from "effect";

export type { NodeClient } from "@pocket-ai/link";

/** Sockets one gateway keeps open to one node at most (one per open stream or in-flight relay). */
const MAX_SOCKETS_PER_NODE = 4096;

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
              client = makeNodeClient(endpoint, { fetch: pool.fetch });
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
