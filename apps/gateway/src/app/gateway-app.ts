import { createHmac } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { budgetedCalls, logUncodedFailures } from "@pocket-ai/link";
import { type Catalog, DEFAULT_CATALOG, type KeyPair, mergeCatalog } from "@pocket-ai/protocol";
import {
  BodyBudget,
  checkPortFree,
  createLogger,
  type Gauge,
  installObservability,
  type Logger,
  lockDataDir,
  MetricsRegistry,
  metricsAccess,
  redactDatabaseUrl,
  type StartCode,
  StartFailure,
  serveHttp,
  watchCheckpoints,
  withDatabaseRemedy,
  withStartCode,
} from "@pocket-ai/runtime";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import { Data, Duration, Effect, Layer, Redacted, Runtime, RuntimeFlags, type Scope } from "effect";
import { AccountsConfig } from "../accounts/accounts-config.js";
import { AccountsLive } from "../accounts/index.js";
import { AdminAuth } from "../admin/admin-auth.js";
import type { GatewayConfig } from "../config/gateway-config.js";
import { loadGatewayKey } from "../config/gateway-key-file.js";
import { GatewayStore, StorageError, type StoreLocation } from "../db/database.js";
import { LimitsSettings, staleReservationMs } from "../limits/limits.js";
import { MeteringWriter } from "../metering/metering-writer.js";
import { makeFrontDoorMetrics } from "../openai/front-door-metrics.js";
import { makeHttpHandler } from "../openai/http-handler.js";
import { ImageUrlStore } from "../openai/image-urls.js";
import { MessageItemSeal } from "../openai/responses/sealed-items.js";
import { StreamedItemStore } from "../openai/responses/streamed-items.js";
import { StreamShutdown } from "../openai/stream-shutdown.js";
import { UploadDecodes } from "../openai/upload-decodes.js";
import { networkTag, requestBodySource, requestNetwork } from "../portal/client-network.js";
import { makePortal, mountPortal } from "../portal/index.js";
import { isLoopbackHost } from "../portal/portal-config.js";
import { Dispatcher } from "../relay/dispatcher.js";
import { advertiseUrlOf } from "../replicas/advertise-url.js";
import { newReplicaId, replicaDirectory } from "../replicas/replica-directory.js";
import { longestRelayMs } from "../routing/routing-config.js";
import { formatUsd, parseUsd } from "../settlement/usd-amount.js";
import { contextFromRequest } from "../trpc.js";
import { priceWeightGaps } from "./catalog-weights.js";
import { readiness } from "./readiness.js";
import { type GatewayAppRouter, makeAppRouter } from "./routers.js";
import {
  defaultRoutingLayer,
  defaultSettlementLayer,
  type RoutingLayer,
  type SettlementLayer,
  type SideEnv,
} from "./side-layers.js";
import { signingKeyMismatch } from "./signing-key-check.js";

/** Why the gateway cannot start: a stable code (the runtime's `START_CODES`) and what to do. */
export class GatewayStartError extends Data.TaggedError("GatewayStartError")<{
  readonly code: StartCode;
  readonly reason: string;
}> {
  override get message(): string {
    return withStartCode(this.code, this.reason);
  }

  /** A part's failure at start, under its own code (`fallback` when it has none). */
  static of(error: unknown, fallback: StartCode, context?: string): GatewayStartError {
    const { code, reason } = StartFailure.of(error, fallback, context);
    return new GatewayStartError({ code, reason });
  }
}

export interface RunningGateway {
  readonly url: string;
  /** The tRPC base URL nodes and the admin CLI call: `<url>/trpc`. */
  readonly trpcUrl: string;
  readonly key: KeyPair;
  readonly catalog: Catalog;
  readonly router: GatewayAppRouter;
  /** Writes queued relay rows now. */
  readonly flushMetering: Effect.Effect<void>;
}

/** The setting that moves the gateway's port, as a refusal names it. */
const GATEWAY_PORT_SETTING = "listen.port (env POCKET_GATEWAY__LISTEN__PORT)";

/** The largest body of a `/trpc` call (an announcement, a claim's proofs, an admin call). */
const MAX_TRPC_BODY_BYTES = 4 * 1024 * 1024;
/**
 * The bytes of `/trpc` bodies held at once, all connections together (16 of the largest): past it
 * a call is refused `503 REQUESTS_BUSY` before the rest of its body is read.
 */
const TRPC_BODIES_BUDGET_BYTES = 16 * MAX_TRPC_BODY_BYTES;
/** The most proxy addresses the warning about an unnamed reverse proxy names (once each). */
const UNTRUSTED_PROXIES_SAID = 8;

export interface StartGatewayOptions {
  readonly log?: Logger;
  /** The routing side's layer (the Dispatcher); tests pass a test Dispatcher here. */
  readonly routing?: (env: SideEnv) => RoutingLayer;
  readonly settlement?: (env: SideEnv) => SettlementLayer;
  /** The cap on uploads decoded at once; tests pass one that watches the decodes. */
  readonly uploadDecodes?: (limits: GatewayConfig["uploadDecodes"], gauge: Gauge) => UploadDecodes;
}

/**
 * Starts a gateway for the scope's lifetime: key, catalog, database, accounts and limits,
 * metering, the routing and settlement sides, and the HTTP server (`/v1/*`, `/trpc/*`,
 * `/metrics`, `/health`, `/ready`). Closing the scope stops accepting, lets in-flight relays finish (up to
 * `drainMs`) and settle, writes the last relay rows, and checkpoints the database.
 */
export function startGateway(
  config: GatewayConfig,
  options: StartGatewayOptions = {},
): Effect.Effect<RunningGateway, GatewayStartError, Scope.Scope> {
  return Effect.gen(function* () {
    const log = options.log ?? createLogger({ app: "gateway", level: config.logLevel });
    // Before the runtime is captured: procedures' Effect.log* and spans go through these.
    yield* installObservability(log, config.telemetry, "gateway");
    const fail = (code: StartCode, reason: string) => new GatewayStartError({ code, reason });
    const failWith = (fallback: StartCode, context?: string) => (e: unknown) =>
      GatewayStartError.of(e, fallback, context);
    // One gateway per SQLite data folder (replicas share PostgreSQL, not a folder): a second one
    // would serve under the same key from the same file unnoticed.
    if (config.database.url === undefined)
      yield* lockDataDir(config.dataDir, "pocket-gateway").pipe(
        Effect.mapError((e) => fail(e.code, e.reason)),
      );
    // A taken port is found before a key file is created or the database migrated for a gateway
    // that could not start.
    yield* checkPortFree({
      host: config.listen.host,
      port: config.listen.port,
      portSetting: GATEWAY_PORT_SETTING,
    }).pipe(Effect.mapError((e) => fail(e.code, e.reason)));
    const key = yield* loadGatewayKey({
      privateKey: config.privateKey,
      privateKeyFile: config.privateKeyFile ?? join(config.dataDir, "gateway.key"),
      createIfMissing: true,
      // Nodes serve only the address they were given: a new key is one none of them knows yet.
      // Expected on a first start; a warning when the operator named a file that is not there.
      onCreate: (file, address) =>
        (config.privateKeyFile === undefined ? log.info : log.warn)(
          "no key file, so a new signing key was created: this gateway's address is new, and nodes must name it in gateways[].address (back the file up)",
          { file, address },
        ),
      onLoose: (warning, file) => log.warn(warning, { file }),
    }).pipe(Effect.mapError((e) => fail(e.code, e.reason)));
    const merged = config.catalog === undefined ? undefined : mergeCatalog(DEFAULT_CATALOG, config.catalog);
    if (merged !== undefined && !merged.ok) {
      return yield* fail("INVALID_CONFIG", `catalog: ${merged.error.detail ?? merged.error.message}`);
    }
    const catalog = merged?.value ?? DEFAULT_CATALOG;
    for (const gap of priceWeightGaps(catalog)) {
      log.warn(
        gap.priceMicroUsd < gap.computeUnitsPerRelay
          ? "a tier sells for less than it weighs: each relay mints its compute units (1 CU = 1 µUSD) and the operator pays the difference; patch computeUnitsPerRelay with the price, and give nodes the same patch, to pay nodes what clients pay"
          : "a tier sells for more than it weighs: each relay mints its compute units (1 CU = 1 µUSD) and the operator keeps the difference",
        { code: "CATALOG_PRICE_NOT_WEIGHT", ...gap },
      );
    }
    const registry = new MetricsRegistry();
    // Whether SQLite checkpoints run off the event loop (no series on PostgreSQL).
    watchCheckpoints(registry);
    const env: SideEnv = { config, key, catalog, registry, log };

    const location: StoreLocation =
      config.database.url === undefined
        ? { file: join(config.dataDir, "gateway.sqlite") }
        : {
            url: config.database.url,
            poolSize: config.database.poolSize,
            queryTimeoutMs: config.database.queryTimeoutMs,
            migrateTimeoutMs: config.database.migrateTimeoutMs,
          };
    const database = GatewayStore.layer(location);
    const foundation = Layer.mergeAll(
      AccountsLive,
      // Rows a stop could not write wait in the data folder for the next start.
      MeteringWriter.layer({ ...config.metering, spillDir: config.dataDir }),
      (options.routing ?? defaultRoutingLayer)(env),
      (options.settlement ?? defaultSettlementLayer)(env),
    ).pipe(
      Layer.provideMerge(
        Layer.mergeAll(
          database,
          AccountsConfig.layer({ applicationSeed: key.privateKey }),
          // A live relay's budget hold is never taken for a crashed process's while it may still run.
          LimitsSettings.layer({
            staleReservationMs: staleReservationMs(longestRelayMs(config.routing, catalog)),
          }),
          AdminAuth.layer(config.adminToken === undefined ? undefined : Redacted.make(config.adminToken)),
        ),
      ),
    );
    // The database's own code; a statement that fails while a part starts is the database's too.
    const context = yield* Layer.build(foundation).pipe(
      Effect.mapError((e) =>
        e instanceof StorageError
          ? fail("DATABASE_UNAVAILABLE", `${e.operation}: ${withDatabaseRemedy(e.reason)}`)
          : failWith("DATABASE_UNAVAILABLE")(e),
      ),
    );
    // Requests run on this runtime without Effect's own fiber metrics (a counter, a gauge and a
    // lifetime histogram updated as each request's fiber starts and ends): nothing reads them, and
    // the gateway's metrics are its Prometheus registry's.
    const runtime = Runtime.disableRuntimeFlag(
      yield* Effect.runtime<Layer.Layer.Success<typeof foundation>>().pipe(Effect.provide(context)),
      RuntimeFlags.RuntimeMetrics,
    );
    const db = yield* Effect.provide(GatewayStore, context);
    const wrongKey = yield* signingKeyMismatch(db, key).pipe(
      Effect.mapError((e) => fail("DATABASE_UNAVAILABLE", `reading the applications failed: ${e.reason}`)),
    );
    if (wrongKey !== undefined) return yield* fail("INVALID_CONFIG", wrongKey);
    const metering = yield* Effect.provide(MeteringWriter, context);
    const dispatcher = yield* Effect.provide(Dispatcher, context);

    // Image URLs and streamed response item ids carry this id; peers on the same PostgreSQL fetch
    // the bytes from this replica.
    const replicas = yield* replicaDirectory(db, newReplicaId());

    const router = makeAppRouter({ db, flushMetering: metering.flush });
    const trpcCalls = createHTTPHandler({
      router,
      basePath: "/trpc/",
      maxBodySize: MAX_TRPC_BODY_BYTES,
      // Every client (nodes, the admin and settlement CLIs) calls one procedure per request: a batch
      // would let one request make the gateway verify thousands of signatures.
      allowBatching: false,
      // New nodes are counted per network (`routing.newNodesPerNetworkPerHour`), read as the
      // portal's limits read it (behind `portal.trustProxy`), kept only as a keyed tag.
      createContext: contextFromRequest(runtime, { clientNetwork: nodeNetworkTag(key, config) }),
      onError: logUncodedFailures(runtime as Runtime.Runtime<never>),
    });
    // Bodies at /trpc are read before their signature or token is checked (nodes announce from
    // anywhere): what they hold is counted as it arrives, bounded in all and per network.
    const bodiesRefused = registry.counter(
      "pocket_gateway_bodies_refused_total",
      "Request bodies refused while they arrived, by budget (trpc, v1) and reason (REQUESTS_BUSY: full, the budget was; share, their network already held its share, bodyBudgets.trpcShareBytes or v1ShareBytes; share48, the IPv6 /48 it is in held twice that. 413: neverFits, the body alone was larger than that share)",
    );
    // A reverse proxy the portal's settings do not name puts all its clients in one network: said
    // once per proxy address (a few at most), with what to set.
    const proxiesSaid = new Set<string>();
    const bodySource = requestBodySource(config.portal, (peer) => {
      if (proxiesSaid.has(peer) || proxiesSaid.size >= UNTRUSTED_PROXIES_SAID) return;
      proxiesSaid.add(peer);
      log.warn(
        "requests from a private address carry X-Forwarded-For, but portal.trustProxy and portal.proxyAddresses do not name it as a proxy: every client behind it counts as one network (one share of the body budgets, one network's sign-up and log-in limits). If it is your reverse proxy, set portal.trustProxy and add its address to portal.proxyAddresses",
        { peer },
      );
    });
    const trpcBodies = new BodyBudget(TRPC_BODIES_BUDGET_BYTES, {
      share:
        config.bodyBudgets.trpcShareBytes ??
        BodyBudget.defaultShare(TRPC_BODIES_BUDGET_BYTES, MAX_TRPC_BODY_BYTES),
      onRefused: (reason) => bodiesRefused.inc({ budget: "trpc", reason }),
    });
    const trpc: (req: IncomingMessage, res: ServerResponse) => void = budgetedCalls({
      router,
      budget: trpcBodies,
      basePath: "/trpc/",
      maxBodySize: MAX_TRPC_BODY_BYTES,
      sourceOf: bodySource,
      code: "REQUESTS_BUSY",
      handler: trpcCalls,
    });
    // When the drain runs out, the streams still open end with an error event.
    const streams = new StreamShutdown();
    const frontDoorMetrics = makeFrontDoorMetrics(registry);
    const http = makeHttpHandler({
      deps: {
        catalog,
        streams,
        db,
        metrics: frontDoorMetrics,
        log,
        cors: config.cors,
        maxBodyBytes: config.maxBodyBytes,
        // A key holder (anyone, where sign-up is open) could otherwise hold a body per connection.
        bodies: {
          budget: new BodyBudget(config.bodyBudgets.v1Bytes, {
            share:
              config.bodyBudgets.v1ShareBytes ??
              BodyBudget.defaultShare(config.bodyBudgets.v1Bytes, config.maxBodyBytes.multipart),
            onRefused: (reason) => bodiesRefused.inc({ budget: "v1", reason }),
          }),
          sourceOf: bodySource,
        },
        uploadDecodes: (options.uploadDecodes ?? ((limits, gauge) => new UploadDecodes(limits, gauge)))(
          config.uploadDecodes,
          frontDoorMetrics.uploadDecodes,
        ),
        imageUrls: new ImageUrlStore(
          { ttlMs: config.imageUrls.ttlSeconds * 1000, maxBytes: config.imageUrls.maxBytes },
          replicas.id,
        ),
        replicas,
        peerTimeoutMs: config.replica.peerTimeoutMs,
        publicUrl: config.publicUrl,
        responseItems: new MessageItemSeal(key.privateKey),
        streamedItems: new StreamedItemStore(
          {
            ttlMs: config.responseItems.ttlSeconds * 1000,
            maxBytes: config.responseItems.maxBytes,
            maxBytesPerOwner: config.responseItems.maxBytesPerApplication,
          },
          replicas.id,
          key.privateKey,
        ),
      },
      runtime,
      registry,
      metricsAccess: metricsAccess(config.metrics),
      trpc,
      health: () => ({
        address: key.address,
        metering: metering.stats(),
        replica: { id: replicas.id, peers: replicas.stats().peers },
      }),
      ready: () => readiness(db, catalog, dispatcher.availability()),
    });
    const portal = config.portal.enabled
      ? makePortal({
          config: config.portal,
          db,
          runtime,
          catalog,
          secret: key.privateKey,
          flushMetering: metering.flush,
          publicUrl: config.publicUrl,
          operator: config.operator,
          log: log.child({ part: "portal" }),
        })
      : undefined;
    // Added before the server: runs after it has closed, before the layers (metering, database).
    yield* Effect.addFinalizer(() =>
      http.drain.pipe(Effect.timeout(Duration.millis(config.drainMs)), Effect.ignore),
    );
    const server = yield* serveHttp({
      host: config.listen.host,
      port: config.listen.port,
      drainMs: config.drainMs,
      beforeCut: () => streams.cut(),
      onDrain: () => streams.begin(),
      portSetting: GATEWAY_PORT_SETTING,
      handler: portal === undefined ? http.handle : mountPortal(portal.handle, http.handle),
    }).pipe(Effect.mapError((e) => fail(e.code, e.reason)));
    const url = config.publicUrl ?? server.url;
    // Registered once it listens (the port may have been 0); its row goes before the server closes.
    const advertiseUrl =
      "url" in location
        ? advertiseUrlOf({ host: config.listen.host, port: server.port }, config.replica.advertiseUrl)
        : undefined;
    yield* replicas
      .join(advertiseUrl)
      .pipe(Effect.mapError((e) => fail("DATABASE_UNAVAILABLE", `replica registration: ${e.reason}`)));
    if ("url" in location && advertiseUrl === undefined) {
      log.warn("image URLs made here are served by this replica only: set replica.advertiseUrl", {
        listen: config.listen.host,
        setting: "replica.advertiseUrl (env POCKET_GATEWAY__REPLICA__ADVERTISE_URL)",
      });
    }
    const signup = portal === undefined ? undefined : openSignupReach(config);
    if (signup !== undefined) log.warn("portal sign-up is open to anyone who reaches this gateway", signup);
    log.info("gateway started", {
      url: server.url,
      address: key.address,
      services: catalog.services.map((s) => s.id),
      database: "url" in location ? `postgres ${redactDatabaseUrl(location.url)}` : `sqlite ${location.file}`,
      adminApi: config.adminToken === undefined ? "off (set adminToken)" : "on",
      metrics:
        config.metrics?.token !== undefined
          ? "token required"
          : config.metrics?.public === true
            ? "public"
            : "this machine only (set metrics.token to scrape from elsewhere)",
      portal: portal === undefined ? "off" : `${server.url}/portal/`,
      replica: { id: replicas.id, ...(advertiseUrl === undefined ? {} : { advertiseUrl }) },
    });
    return { url: server.url, trpcUrl: `${url}/trpc`, key, catalog, router, flushMetering: metering.flush };
  });
}

/**
 * What open sign-up lets strangers spend when others reach the gateway (a listen host or
 * `publicUrl` that is not loopback), for the start log's warning; undefined when sign-up is closed
 * or only this machine reaches the gateway. The config refuses this without a budget cap or a
 * daily cap (`publicSignupProblem`), so the figures are bounded: the operator reads what an hour
 * and a day may cost, sign-ups at `signup.perHour` from many networks, held to
 * `keys.selfServeUsdPerDay`.
 */
function openSignupReach(config: GatewayConfig): Record<string, unknown> | undefined {
  const { signup, keys } = config.portal;
  const publicHost = config.publicUrl === undefined ? undefined : new URL(config.publicUrl).hostname;
  const reachable =
    !isLoopbackHost(config.listen.host) || (publicHost !== undefined && !isLoopbackHost(publicHost));
  if (!signup.enabled || !reachable || keys.maxBudgetUsd === null || keys.selfServeUsdPerDay === null)
    return undefined;
  // BigInt: the largest caps multiplied together pass Number's safe integers.
  const perAccount = BigInt(keys.maxPerAccount) * BigInt(parseUsd(keys.maxBudgetUsd));
  const perDayCap = BigInt(parseUsd(keys.selfServeUsdPerDay));
  const atMost = (v: bigint) => formatUsd(v < perDayCap ? v : perDayCap);
  const perHour = perAccount * BigInt(signup.perHour);
  return {
    perKeyUsd: keys.maxBudgetUsd,
    perAccountUsd: formatUsd(perAccount),
    accountsPerHour: signup.perHour,
    selfServeUsdPerDay: keys.selfServeUsdPerDay,
    atMostPerHourUsd: atMost(perHour),
    atMostPerDayUsd: atMost(perHour * 24n),
    settings:
      "portal.keys.selfServeUsdPerDay, portal.keys.maxBudgetUsd, portal.keys.maxPerAccount, portal.signup.perHour; close it with portal.signup.enabled: false (env POCKET_GATEWAY__PORTAL__SIGNUP__ENABLED=false)",
  };
}

/**
 * The keyed tag of the network a request to `/trpc` came from: the `nodes` table counts new nodes
 * by it and keeps no address. Keyed with a secret of its own, derived from the gateway's key.
 */
function nodeNetworkTag(key: KeyPair, config: GatewayConfig): (req: IncomingMessage) => string {
  const secret = createHmac("sha256", key.privateKey).update("pocket-ai/node-networks/v1").digest();
  const networkOf = requestNetwork(config.portal);
  return (req) => networkTag(secret, networkOf(req));
}
