import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_CATALOG, type KeyPair, mergeCatalog, type NodeServiceOffer } from "@pocket-ai/protocol";
import { createLogger, type Logger, openSqlite, serveHttp } from "@pocket-ai/runtime";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import { Data, Effect, Schedule, type Scope } from "effect";
import { DEV_BACKEND_LABEL } from "../backends/dev/index.js";
import { claimPass } from "../claims/claim-loop.js";
import type { NodeConfig } from "../config/node-config.js";
import { ClaimStore } from "../db/claim-store.js";
import { RelayStore } from "../db/relay-store.js";
import { nodeSchema } from "../db/schema.js";
import { makeGatewayClient } from "../gateway-link/gateway-client.js";
import { loadKeyPair } from "../identity/node-identity.js";
import { NODE_SOFTWARE, type NodeInfo } from "../info/node-info.js";
import { makeNodeMetrics } from "../metrics/node-metrics.js";
import { announceForever } from "../registration/announce-loop.js";
import { makeNodeRouter, type NodeRouter } from "../relay/relay-router.js";
import { RelayService } from "../relay/relay-service.js";
import { SessionMembership } from "../relay/session-membership.js";
import { claimLoopInterval } from "../schedules.js";
import { buildServedServices } from "./served-services.js";

export class NodeStartError extends Data.TaggedError("NodeStartError")<{ readonly reason: string }> {
  override get message(): string {
    return this.reason;
  }
}

export interface RunningNode {
  readonly url: string;
  /** The tRPC base URL gateways call: `<url>/trpc`. */
  readonly trpcUrl: string;
  readonly key: KeyPair;
  readonly router: NodeRouter;
  readonly info: NodeInfo;
  readonly relays: RelayStore;
  readonly claims: ClaimStore;
  /** Runs one claim pass now (the loop also runs on its own). */
  readonly claimNow: Effect.Effect<void>;
}

const migrationsFolder = fileURLToPath(new URL("../../drizzle", import.meta.url));

/**
 * Starts a node for the scope's lifetime: key, catalog, database, backend pools, relay service,
 * HTTP server (tRPC at `/trpc`, Prometheus at `/metrics`, `/health`), registration with each
 * gateway and the claim loop. Closing the scope drains in-flight relays, stops the loops and
 * checkpoints the database.
 */
export function startNode(
  config: NodeConfig,
  options: { readonly log?: Logger; readonly now?: () => number; readonly claimLoop?: boolean } = {},
): Effect.Effect<RunningNode, NodeStartError, Scope.Scope> {
  return Effect.gen(function* () {
    const now = options.now ?? Date.now;
    const log = options.log ?? createLogger({ app: "node", level: config.logLevel });
    const fail = (reason: string) => new NodeStartError({ reason });
    const key = yield* loadKeyPair({
      privateKey: config.privateKey,
      privateKeyFile: config.privateKeyFile ?? join(config.dataDir, "node.key"),
      createIfMissing: true,
    }).pipe(Effect.mapError((e) => fail(e.message)));
    const merged =
      config.catalog === undefined
        ? { ok: true as const, value: DEFAULT_CATALOG }
        : mergeCatalog(DEFAULT_CATALOG, config.catalog);
    if (!merged.ok) return yield* fail(`catalog: ${merged.error.detail ?? merged.error.message}`);
    const catalog = merged.value;

    const { db } = yield* openSqlite({
      file: join(config.dataDir, "node.sqlite"),
      schema: nodeSchema,
      migrationsFolder,
    }).pipe(Effect.mapError((e) => fail(e.message)));
    const relays = new RelayStore(db);
    const claims = new ClaimStore(db);
    const abandoned = relays.abandonPending(now());
    if (abandoned > 0)
      log.warn("relays left unanswered by the last run were marked failed", { count: abandoned });

    const metrics = makeNodeMetrics();
    const { services, pools } = yield* buildServedServices(config, catalog, {
      onCall: (backendId, operation, seconds, outcome) =>
        metrics.backendSeconds.observe({ backend: backendId, operation, outcome }, seconds),
    }).pipe(Effect.mapError((e) => fail(e.message)));

    const membership = new SessionMembership(key.address, 24);
    const relay = RelayService.make({
      key,
      store: relays,
      metrics,
      pools,
      weighting: config.weighting,
      admission: {
        nodeAddress: key.address,
        gateways: new Set(config.gateways.map((g) => g.address)),
        session: config.session,
        services,
        store: relays,
        inSession: (request) => membership.check(request),
        now,
      },
    });

    const offers: NodeServiceOffer[] = [...services.values()].map((s) => ({
      serviceId: s.spec.id,
      tiers: [...s.tiers.keys()],
      model: {
        declared: s.declaredModel.declared,
        ...(s.declaredModel.family === undefined ? {} : { family: s.declaredModel.family }),
        quantization: s.declaredModel.quantization,
      },
      capabilities: s.capabilities,
      tokenizer: { kind: s.tokens.kind, exact: s.tokens.exact },
    }));
    const usesDev = config.services.some((s) => s.backends.some((b) => b.kind === "dev"));
    const info: NodeInfo = {
      address: key.address,
      publicKey: key.publicKeyHex,
      software: NODE_SOFTWARE,
      services: offers.map((o) => ({
        ...o,
        backends: (pools.get(o.serviceId)?.stats().backends ?? []).map((b) => ({ kind: b.kind, id: b.id })),
      })),
      hardware: config.hardware,
      weighting: config.weighting,
      ...(usesDev ? { developmentBackend: DEV_BACKEND_LABEL } : {}),
    };
    const health = () => {
      const backends: Record<string, boolean> = {};
      for (const pool of pools.values()) for (const b of pool.stats().backends) backends[b.id] = b.healthy;
      return { ok: Object.values(backends).some(Boolean), backends };
    };
    const router = makeNodeRouter({ relay, info: () => info, health });
    const trpc = createHTTPHandler({ router, basePath: "/trpc/", maxBodySize: 32 * 1024 * 1024 });

    const server = yield* serveHttp({
      host: config.listen.host,
      port: config.listen.port,
      portSetting: "listen.port (env POCKET_NODE__LISTEN__PORT)",
      drainMs: config.shutdownDrainMs,
      handler: (req, res) => {
        const path = (req.url ?? "/").split("?")[0];
        if (path?.startsWith("/trpc/")) return trpc(req, res);
        if (path === "/metrics") {
          for (const pool of pools.values()) {
            const stats = pool.stats();
            metrics.queueDepth.set({ service: stats.serviceId }, stats.queueDepth);
            for (const b of stats.backends) metrics.inFlight.set({ backend: b.id }, b.inFlight);
          }
          res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
          return res.end(metrics.registry.render());
        }
        if (path === "/health") {
          const h = health();
          res.writeHead(h.ok ? 200 : 503, { "content-type": "application/json" });
          return res.end(JSON.stringify(h));
        }
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "not found: the node serves /trpc/*, /metrics and /health" }));
      },
    }).pipe(Effect.mapError((e) => fail(e.message)));
    const trpcUrl = `${config.publicUrl ?? server.url}/trpc`;

    const gatewayClients = new Map(config.gateways.map((g) => [g.address, makeGatewayClient(g.url)]));
    for (const gateway of gatewayClients.values()) {
      yield* Effect.forkScoped(
        announceForever(
          {
            key,
            endpoint: trpcUrl,
            ...(config.operator === undefined ? {} : { operator: config.operator }),
            services: offers,
            hardware: config.hardware,
            software: NODE_SOFTWARE,
            session: config.session,
            membership,
            log,
          },
          gateway,
        ),
      );
    }
    const claimNow = claimPass({
      key,
      relays,
      claims,
      session: config.session,
      gateways: gatewayClients,
      metrics,
      log,
      now,
    }).pipe(
      Effect.catchAllDefect((defect) =>
        Effect.sync(() => log.error("claim pass failed", { error: String(defect) })),
      ),
    );
    if (options.claimLoop !== false) {
      yield* Effect.forkScoped(Effect.repeat(claimNow, Schedule.spaced(claimLoopInterval)));
    }
    log.info("node started", { url: server.url, address: key.address, services: [...services.keys()] });
    return { url: server.url, trpcUrl, key, router, info, relays, claims, claimNow };
  });
}
