import { existsSync } from "node:fs";
import type { KeyPair } from "@pocket-ai/protocol";
import { checkPortFree, loadConfig, lockDataDir, observabilityLayer } from "@pocket-ai/runtime";
import { Context, Effect, Layer, type Scope } from "effect";
import { ClaimLoop } from "../claims/claim-loop.js";
import { NodeClock } from "../clock/node-clock.js";
import { NodeConfig } from "../config/node-config.js";
import type { ClaimStore } from "../db/claim-store.js";
import { ClaimLedger, NodeDatabase, RelayLedger } from "../db/node-database.js";
import type { RelayStore } from "../db/relay-store.js";
import { GatewayClients } from "../gateway-link/gateway-client.js";
import { NodeIdentity } from "../identity/node-identity.js";
import { NodeDescription, type NodeInfo } from "../info/node-info.js";
import { Metrics } from "../metrics/node-metrics.js";
import { AnnounceLoop } from "../registration/announce-loop.js";
import { RelayService } from "../relay/relay-service.js";
import { Membership } from "../relay/session-membership.js";
import { NodeCluster, workersRefusal } from "./node-cluster.js";
import { NODE_PORT_SETTING, NodeEndpoint } from "./node-server.js";
import { type NodeOptions, NodeSettings, NodeStartError, nodeCatalog } from "./node-settings.js";
import { BackendPools } from "./served-services.js";
import { type PrimaryLink, WorkerLink } from "./worker-link.js";

export { NodeStartError } from "./node-settings.js";

export interface StartNodeOptions extends NodeOptions {
  /** The node's clock (Unix ms); Effect's `Clock` when not given. */
  readonly now?: () => number;
}

/** What embedding processes read off a running node (see {@link startNode}). */
export type NodeLayer = Layer.Layer<
  NodeEndpoint | NodeIdentity | NodeDescription | RelayLedger | ClaimLedger | ClaimLoop,
  NodeStartError
>;

/**
 * The whole node as one layer: settings and clock; key, metrics and database; relay and claim
 * ledgers, backend pools, session membership and gateway clients; the relay service and the
 * node's description; the HTTP server; the announce and claim loops. Closing it stops the loops,
 * drains in-flight relays, closes the backend pools and checkpoints the database, in that order.
 */
export function nodeLayer(config: NodeConfig, options: StartNodeOptions = {}): NodeLayer {
  // Refused before anything is built or created (the data folder; a gguf backend would load its
  // model first): a catalog, service or tier the node cannot serve, or workers it cannot run.
  const catalog = nodeCatalog(config);
  if (typeof catalog === "string")
    return Layer.fail(new NodeStartError({ code: "INVALID_CONFIG", reason: catalog }));
  const refusal = workersRefusal(config);
  if (refusal !== undefined)
    return Layer.fail(new NodeStartError({ code: "INVALID_CONFIG", reason: refusal }));
  // One node per data folder (its workers share the primary's): a second one would take the
  // first's key and registration at the gateways unnoticed.
  // Then its port: a taken one is found before a key file is created or a model loaded for a
  // node that could not start.
  const lock = Layer.scopedDiscard(
    lockDataDir(config.dataDir, "pocket-node").pipe(
      Effect.mapError((e) => new NodeStartError({ code: e.code, reason: e.reason })),
      Effect.zipRight(
        checkPortFree({
          host: config.listen.host,
          port: config.listen.port,
          portSetting: NODE_PORT_SETTING,
        }).pipe(Effect.mapError((e) => new NodeStartError({ code: e.code, reason: e.reason }))),
      ),
    ),
  );
  const stores = nodeStores(config, options).pipe(Layer.provideMerge(lock));
  const loops = Layer.mergeAll(AnnounceLoop, ClaimLoop.layer, startedLog);
  if (config.workers > 1) {
    // The primary serves no relay: its workers do (node-cluster.ts).
    const cluster = NodeCluster.pipe(
      Layer.provideMerge(NodeDescription.layer.pipe(Layer.provideMerge(stores))),
    );
    return loops.pipe(Layer.provideMerge(cluster));
  }
  const serving = Layer.mergeAll(RelayService.layer, NodeDescription.layer).pipe(Layer.provideMerge(stores));
  return loops.pipe(Layer.provideMerge(NodeEndpoint.layer.pipe(Layer.provideMerge(serving))));
}

/**
 * One worker of a node that runs several (`workers` > 1, see `node-cluster.ts`): it serves relays
 * on the port the workers share, admitting each through `link` to its primary, and runs no loop.
 */
export function nodeWorkerLayer(
  config: NodeConfig,
  link: PrimaryLink,
): Layer.Layer<NodeEndpoint, NodeStartError> {
  const stores = nodeStores(config, {}, Layer.succeed(WorkerLink, link));
  const serving = Layer.mergeAll(RelayService.layer, NodeDescription.layer).pipe(Layer.provideMerge(stores));
  return NodeEndpoint.layer.pipe(Layer.provideMerge(serving));
}

/** The layers every process of a node builds: settings, clock, key, metrics, database and stores. */
function nodeStores(
  config: NodeConfig,
  options: StartNodeOptions,
  link: Layer.Layer<WorkerLink> | Layer.Layer<never> = Layer.empty,
) {
  const clock = options.now === undefined ? NodeClock.layer : NodeClock.from(options.now);
  const settings = Layer.merge(NodeSettings.layer(config, options), link);
  // Effect.log* through the node's redacting logger, and spans to OTLP when configured, for every
  // layer built on top (the runtime that serves procedures included).
  const observability = Layer.unwrapEffect(
    Effect.map(NodeSettings, ({ log }) => observabilityLayer(log, config.telemetry, "node")),
  ).pipe(Layer.provide(settings));
  const foundation = Layer.mergeAll(NodeIdentity.layer, Metrics.layer, NodeDatabase.layer, clock).pipe(
    Layer.provideMerge(Layer.merge(settings, observability)),
  );
  return Layer.mergeAll(
    RelayLedger.layer,
    ClaimLedger.layer,
    BackendPools.layer,
    Membership.layer,
    GatewayClients.layer,
  ).pipe(Layer.provideMerge(foundation));
}

const startedLog = Layer.effectDiscard(
  Effect.gen(function* () {
    const { log } = yield* NodeSettings;
    const { url } = yield* NodeEndpoint;
    const { info } = yield* NodeDescription;
    log.info("node started", { url, address: info.address, services: info.services.map((s) => s.serviceId) });
  }),
);

/** The node layer from a config file (or none) with `POCKET_NODE__*` environment overrides. */
export function nodeLayerFromConfigFile(file: string | undefined) {
  const configFile =
    file ?? process.env.POCKET_NODE_CONFIG ?? (existsSync("node.yaml") ? "node.yaml" : undefined);
  return Layer.unwrapEffect(
    Effect.map(loadConfig({ schema: NodeConfig, file: configFile, envPrefix: "POCKET_NODE" }), (config) =>
      nodeLayer(config),
    ),
  );
}

export interface RunningNode {
  readonly url: string;
  /** The tRPC base URL gateways call: `<url>/trpc`. */
  readonly trpcUrl: string;
  readonly key: KeyPair;
  readonly info: NodeInfo;
  readonly relays: RelayStore;
  readonly claims: ClaimStore;
  /** Runs one claim pass now (the loop also runs on its own). */
  readonly claimNow: Effect.Effect<void>;
}

/**
 * Starts a node for the scope's lifetime (the {@link nodeLayer}, built into the scope) and hands
 * back what an embedding process (the local network, tests) needs to reach and inspect it.
 */
export function startNode(
  config: NodeConfig,
  options: StartNodeOptions = {},
): Effect.Effect<RunningNode, NodeStartError, Scope.Scope> {
  return Effect.gen(function* () {
    const context = yield* Layer.build(nodeLayer(config, options));
    const endpoint = Context.get(context, NodeEndpoint);
    const { key } = Context.get(context, NodeIdentity);
    const { info } = Context.get(context, NodeDescription);
    return {
      url: endpoint.url,
      trpcUrl: endpoint.trpcUrl,
      key,
      info,
      relays: Context.get(context, RelayLedger),
      claims: Context.get(context, ClaimLedger),
      claimNow: Context.get(context, ClaimLoop).claimNow,
    };
  });
}
