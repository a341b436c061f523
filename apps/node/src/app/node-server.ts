import type { IncomingMessage, ServerResponse } from "node:http";
import {
  budgetedCalls,
  contextFromRequest,
  logUncodedFailures,
  makeNodeRelayHandler,
  makeNodeRouter,
  type NodeRelayApi,
} from "@pocket-ai/link";
import { ErrorCodes } from "@pocket-ai/protocol";
import {
  addressMatcher,
  BodyBudget,
  clientNetwork,
  METRICS_CHALLENGE,
  mergeExpositions,
  metricsAccess,
  serveHttp,
  spanned,
  spansExported,
} from "@pocket-ai/runtime";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import { Context, Duration, Effect, Layer, Option, Runtime, RuntimeFlags } from "effect";
import { NodeDescription } from "../info/node-info.js";
import { Metrics } from "../metrics/node-metrics.js";
import { RelayService } from "../relay/relay-service.js";
import { NodeSettings, NodeStartError } from "./node-settings.js";
import { BackendPools } from "./served-services.js";
import { WorkerLink } from "./worker-link.js";

/** The setting that moves the node's port, as a refusal names it. */
export const NODE_PORT_SETTING = "listen.port (env POCKET_NODE__LISTEN__PORT)";

/** The largest relay body (an image edit's pictures as base64): `relay` and `relayStream` calls. */
const MAX_RELAY_BODY_BYTES = 32 * 1024 * 1024;
/**
 * The largest body of any other call (a stream cut receipt, a call in another shape than the
 * link's), and how many bytes of those bodies the process holds at once: they are read before
 * tRPC sees them, against a budget of their own that relays never wait on.
 */
const MAX_OTHER_BODY_BYTES = 1024 * 1024;
const OTHER_BODIES_BUDGET_BYTES = 16 * MAX_OTHER_BODY_BYTES;

/** Where the node listens: its base URL and the tRPC URL gateways call (`<publicUrl or url>/trpc`). */
export class NodeEndpoint extends Context.Tag("node/NodeEndpoint")<
  NodeEndpoint,
  { readonly url: string; readonly trpcUrl: string }
>() {
  /**
   * The HTTP server for the layer's lifetime: the link's node router at `/trpc` (procedures run on
   * this layer's runtime; `relay` and `relayStream` calls served on the link's direct path), Prometheus at `/metrics` (from this machine only, unless `metrics.token` or `metrics.public` is set), `/health`. Closing it drains in-flight relays.
   */
  static readonly layer = Layer.scoped(
    NodeEndpoint,
    Effect.gen(function* () {
      const { config, log } = yield* NodeSettings;
      const relays = yield* RelayService;
      const description = yield* NodeDescription;
      const metrics = yield* Metrics;
      const { pools } = yield* BackendPools;
      // Calls run on this runtime without Effect's own fiber metrics (a counter, a gauge and a
      // lifetime histogram updated as each call's fiber starts and ends): nothing reads them, and
      // the node's metrics are its Prometheus registry's.
      const runtime = Runtime.disableRuntimeFlag(yield* Effect.runtime<never>(), RuntimeFlags.RuntimeMetrics);
      const worker = Option.getOrUndefined(yield* Effect.serviceOption(WorkerLink));
      const render = () => {
        for (const pool of pools.values()) {
          const stats = pool.stats();
          metrics.queueDepth.set({ service: stats.serviceId }, stats.queueDepth);
          for (const b of stats.backends) metrics.inFlight.set({ backend: b.id }, b.inFlight);
        }
        metrics.unverifiedBodyBytes.set({}, relayBodies.held + otherBodies.held);
        return metrics.registry.render();
      };
      worker?.onRender(render);
      const metricsRefusal = metricsAccess(config.metrics);
      // Bodies are read whole before their signature is checked: what strangers may make the
      // process hold is bounded in all, not only per request.
      // One network holds a share of each, so one stranger's slow uploads leave room for everyone
      // else's; a proxy of the operator's own (loopback by default) is no one stranger.
      const { bodyBudgetBytes, bodyShareBytes, unsharedSources } = config.requests;
      const refused = (budget: string) => (reason: string) => metrics.bodiesRefused.inc({ budget, reason });
      const relayBodies = new BodyBudget(bodyBudgetBytes, {
        share: bodyShareBytes ?? BodyBudget.defaultShare(bodyBudgetBytes, MAX_RELAY_BODY_BYTES),
        onRefused: refused("relay"),
      });
      const otherBodies = new BodyBudget(OTHER_BODIES_BUDGET_BYTES, {
        share: BodyBudget.defaultShare(OTHER_BODIES_BUDGET_BYTES, MAX_OTHER_BODY_BYTES),
        onRefused: refused("other"),
      });
      const unshared = addressMatcher(unsharedSources);
      const bodySource = (req: IncomingMessage) => {
        const address = req.socket.remoteAddress;
        return address === undefined || unshared(address) ? undefined : clientNetwork(address);
      };
      // Without span export configured these spans are skipped (`spanned`).
      const impl: NodeRelayApi = {
        relay: (input) => spanned(relays.relay(input), "Node.relay"),
        // Served in callbacks, with no fiber, unless spans are kept (a span needs the Effect).
        relayNow: (input, done) => {
          if (!spansExported()) return relays.relayNow(input, done);
          done(spanned(relays.relay(input), "Node.relay"));
          return () => undefined;
        },
        relayStream: (input, signal) => spanned(relays.relayStream(input, signal), "Node.relayStream.open"),
        // Opened in callbacks, as `relayNow` serves, unless spans are kept.
        relayStreamNow: (input, signal, done) => {
          if (!spansExported()) return relays.relayStreamNow(input, signal, done);
          done(spanned(relays.relayStream(input, signal), "Node.relayStream.open"));
        },
        settleCut: (input) => spanned(relays.settleCut(input), "Node.settleCut"),
        info: () => description.info,
        health: description.health,
      };
      const router = makeNodeRouter(impl);
      const basePath = "/trpc/";
      const trpc = createHTTPHandler({
        router,
        basePath,
        maxBodySize: MAX_OTHER_BODY_BYTES,
        // Gateways call one procedure per request; `relayStream` comes as a batch of one (tRPC's
        // stream link). A longer batch would answer `info` thousands of times for one small GET.
        maxBatchSize: 1,
        createContext: contextFromRequest(runtime),
        onError: logUncodedFailures(runtime),
      });
      // The relay procedures' calls in tRPC's own shape are served straight on node:http (no Web
      // Request or Stream per call or chunk); everything else goes through the tRPC handler.
      const relayCalls = makeNodeRelayHandler({
        impl,
        router,
        runtime,
        basePath,
        maxBodySize: MAX_RELAY_BODY_BYTES,
        bodyBudget: relayBodies,
        bodySource,
      });
      const otherCalls = budgetedCalls({
        router,
        budget: otherBodies,
        basePath,
        maxBodySize: MAX_OTHER_BODY_BYTES,
        sourceOf: bodySource,
        handler: trpc,
      });
      const trpcCalls = (req: IncomingMessage, res: ServerResponse) => {
        if (relayCalls(req, res)) return;
        otherCalls(req, res);
      };
      // Added before the server, so it runs after the server has closed and before the database
      // closes: relays whose callers went away still write their outcome (interrupted relays are
      // recorded failed), bounded by the same drain time.
      yield* Effect.addFinalizer(() =>
        relays.drain.pipe(
          Effect.timeout(Duration.millis(config.shutdownDrainMs)),
          Effect.catchAll(() =>
            Effect.sync(() =>
              log.warn(
                "relays still in flight after shutdownDrainMs: their outcome is not recorded, so they are never claimed (raise shutdownDrainMs to wait longer)",
                {
                  code: "NODE_DRAIN_TIMEOUT",
                  relays: relays.inFlight(),
                },
              ),
            ),
          ),
        ),
      );
      const server = yield* serveHttp({
        host: config.listen.host,
        port: config.listen.port,
        portSetting: NODE_PORT_SETTING,
        drainMs: config.shutdownDrainMs,
        requestTimeoutMs: config.requests.timeoutMs,
        handler: (req, res) => {
          const path = (req.url ?? "/").split("?")[0];
          if (path?.startsWith("/trpc/")) return trpcCalls(req, res);
          if (path === "/metrics") {
            const refusal = metricsRefusal(req);
            if (refusal !== undefined) {
              res.writeHead(ErrorCodes[refusal].status, {
                "content-type": "application/json",
                ...(refusal === "METRICS_UNAUTHORIZED" ? METRICS_CHALLENGE : {}),
              });
              return res.end(
                JSON.stringify({ error: { code: refusal, message: ErrorCodes[refusal].message } }),
              );
            }
            if (worker === undefined) {
              res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
              return res.end(render());
            }
            // One scrape of a node with several workers holds every process's metrics.
            const own = [{ process: String(worker.index), text: render() }];
            worker
              .scrape()
              .catch(() => own)
              .then((parts) => {
                res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
                res.end(mergeExpositions(parts, "worker"));
              });
            return;
          }
          if (path === "/health") {
            // A worker of several says which one answered (the primary passes connections in turn).
            const h =
              worker === undefined ? description.health() : { ...description.health(), worker: worker.index };
            res.writeHead(h.ok ? 200 : 503, { "content-type": "application/json" });
            return res.end(JSON.stringify(h));
          }
          res.writeHead(ErrorCodes.ROUTE_NOT_FOUND.status, { "content-type": "application/json" });
          res.end(
            JSON.stringify({
              error: {
                code: "ROUTE_NOT_FOUND",
                message: `No route ${path}. The node serves /trpc/*, /metrics and /health.`,
              },
            }),
          );
        },
      }).pipe(Effect.mapError((e) => new NodeStartError({ code: e.code, reason: e.reason })));
      return { url: server.url, trpcUrl: `${config.publicUrl ?? server.url}/trpc` };
    }),
  );
}
