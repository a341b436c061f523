import { CatalogOverrides } from "@pocket-ai/protocol";
import { MetricsConfig, redactDatabaseUrl, TelemetryConfig } from "@pocket-ai/runtime";
import { z } from "zod";
import { PortalConfig, publicSignupProblem } from "../portal/portal-config.js";
import { RoutingConfig } from "../routing/routing-config.js";
import { SettlementConfigSchema } from "../settlement/settlement-config.js";

/** The whole gateway configuration file (JSON or YAML); every field can come from `POCKET_GATEWAY__*`. */
export const GatewayConfig = z
  .strictObject({
    listen: z
      .strictObject({
        host: z.string().default("127.0.0.1"),
        port: z.number().int().min(0).max(65535).default(8080),
      })
      .prefault({}),
    /** URL applications and nodes use to reach this gateway (defaults to http://host:port). */
    publicUrl: z.url().optional(),
    /** Folder for the SQLite file and the key file. */
    dataDir: z.string().default("./.data/gateway"),
    /**
     * Where the gateway's state lives. Without `url`, one SQLite file in `dataDir` (one process).
     * With `url` (`postgres://user:password@host:5432/database`; env POCKET_DATABASE_URL or
     * POCKET_GATEWAY__DATABASE__URL), a PostgreSQL database that several replicas share.
     */
    database: z
      .strictObject({
        url: z.string().min(1).optional(),
        /** Connections each replica keeps to PostgreSQL. */
        poolSize: z.number().int().min(1).max(200).default(10),
        /**
         * Longest a statement, or a transaction as a whole, may wait for PostgreSQL before the
         * replica closes that connection and answers `503 DATABASE_UNAVAILABLE` (a server cut off
         * or frozen sends nothing, not even a close). Above the 10 s lock wait and the 30 s idle
         * transaction limit, so those end first.
         */
        queryTimeoutMs: z.number().int().min(1000).max(3_600_000).default(60_000),
        /**
         * Longest a replica's start may take to take the migration lock (another replica starting at
         * once holds it while it migrates) and apply the migrations before it stops with
         * `DATABASE_UNAVAILABLE`, instead of waiting forever on a server that stopped answering.
         */
        migrateTimeoutMs: z.number().int().min(1000).max(86_400_000).default(600_000),
      })
      .prefault({}),
    /** Hex secp256k1 key the gateway signs relays with; or `privateKeyFile`. Env: POCKET_GATEWAY__PRIVATE_KEY. */
    privateKey: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex characters")
      .optional(),
    /** File holding the hex key (created on first start, or by `pocket-gateway keys generate`). */
    privateKeyFile: z.string().min(1).optional(),
    /** Bearer token of the admin API (`/trpc/admin.*`). Without it the admin API refuses everything. */
    adminToken: z.string().min(16, "must be at least 16 characters").optional(),
    /** This portal operator's name, as the weekly tally reports it. */
    operator: z.string().min(1).max(100).default("portal"),
    cors: z
      .strictObject({
        /** Allowed browser origins; `"*"` allows any (API keys, not cookies, authenticate). */
        origins: z.array(z.string().min(1)).default(["*"]),
      })
      .prefault({}),
    /** Operator additions or overrides to the default service catalog. */
    catalog: CatalogOverrides.optional(),
    /** Sessions, node selection, retries, hedging, the evaluator's scoreboard (see `routing/routing-config.ts`). */
    routing: RoutingConfig.prefault({}),
    /** Claim and proof windows (see `settlement/settlement-config.ts`). */
    settlement: SettlementConfigSchema,
    metering: z
      .strictObject({
        /** Relay rows written per SQLite transaction. */
        batchSize: z.number().int().min(1).max(10_000).default(200),
        /** Longest a row waits in memory before it is written. */
        flushMs: z.number().int().min(10).max(60_000).default(250),
      })
      .prefault({}),
    /** The web portal at /portal/: sign-up, keys, usage, catalog, operator console (see `portal/portal-config.ts`). */
    portal: PortalConfig,
    /**
     * Bodies read before they are verified, all connections together: `/trpc` holds at most 64 MiB
     * (16 calls of the largest, 4 MiB) and refuses past it `503 REQUESTS_BUSY`. One network (an
     * IPv4 address, an IPv6 /64, read behind `portal.trustProxy` as every per-network limit reads
     * it; none for this machine's loopback) holds at most `trpcShareBytes` of it, so one stranger's
     * slow uploads cannot refuse every node's announcement (default: an eighth, 8 MiB).
     * `/v1` bodies (read once their key is authenticated, up to `maxBodyBytes`) being received hold
     * at most `v1Bytes` in all and `v1ShareBytes` for one network (default: an eighth, never below
     * one largest multipart body); past either a request is refused `503 REQUESTS_BUSY` with
     * `Retry-After: 1`. On both, the /64s of one IPv6 /48 hold at most twice the share together:
     * a /56 or /48 holder does not fill the budget from eight of its /64s. Below
     * `maxBodyBytes.multipart` the largest image edits never fit: a body larger than the share is
     * refused at once `413 REQUEST_TOO_LARGE` (no wait would help; clients do not retry a 413).
     */
    bodyBudgets: z
      .strictObject({
        trpcShareBytes: z
          .number()
          .int()
          .min(4 * 1024 * 1024)
          .optional(),
        v1Bytes: z
          .number()
          .int()
          .min(1024 * 1024)
          .default(256 * 1024 * 1024),
        v1ShareBytes: z
          .number()
          .int()
          .min(1024 * 1024)
          .optional(),
      })
      .prefault({}),
    /** Largest request body accepted: JSON bodies, and multipart image edits (image + mask). */
    maxBodyBytes: z
      .strictObject({
        json: z
          .number()
          .int()
          .min(1024)
          .default(4 * 1024 * 1024),
        multipart: z
          .number()
          .int()
          .min(1024)
          .default(24 * 1024 * 1024),
      })
      .prefault({}),
    /**
     * Image-edit uploads (the image and its mask) decoded at once by this process, whatever the key,
     * and how many more may wait for a turn; past both, an edit is refused at once with
     * `503 UPLOADS_BUSY` and `Retry-After: 1`. A decode takes about a core while it runs: keep
     * `concurrency` under the machine's cores, so that other requests are always answered. One
     * application (all of its keys) holds at most `perApplication` of those places, decoding and
     * waiting together (default: half of `concurrency` + `queue`, at least one), and is refused the
     * same way past it, so that one customer cannot fill the queue for the others; a gateway serving
     * one application sets it to `concurrency` + `queue`.
     */
    uploadDecodes: z
      .strictObject({
        concurrency: z.number().int().min(1).max(64).default(2),
        queue: z.number().int().min(0).max(1024).default(16),
        perApplication: z
          .number()
          .int()
          .min(1)
          .max(64 + 1024)
          .optional(),
      })
      .transform(({ concurrency, queue, perApplication }) => ({
        concurrency,
        queue,
        perApplication: perApplication ?? Math.max(1, Math.floor((concurrency + queue) / 2)),
      }))
      .prefault({}),
    /**
     * Images answered as URLs (`response_format: "url"`): kept in memory this long, at most
     * `maxBytes` of memory in all (each image its bytes and `KEPT_ENTRY_OVERHEAD_BYTES`; the oldest
     * go first), then gone (the URL answers 404 IMAGE_URL_EXPIRED).
     */
    imageUrls: z
      .strictObject({
        ttlSeconds: z.number().int().min(1).max(86_400).default(3_600),
        maxBytes: z
          .number()
          .int()
          .min(16 * 1024 * 1024)
          .default(256 * 1024 * 1024),
      })
      .prefault({}),
    /**
     * Streamed `/v1/responses` message items, so a later `item_reference` to one works: its text
     * is kept once the stream completes, encrypted with a key only the item's id holds, in memory
     * this long and at most `maxBytes` of memory in all (each item its ciphertext and
     * `KEPT_ENTRY_OVERHEAD_BYTES`, so that many short items hold no more; the oldest go first), then
     * gone (a reference to it answers 400 RESPONSE_NOT_STORED). One application (a customer) holds at
     * most `maxBytesPerApplication`, counted alike (its own oldest go first), so that no customer can
     * push out the others' items; a gateway serving one application sets it to `maxBytes`. Nothing is
     * written to disk or the database.
     */
    responseItems: z
      .strictObject({
        ttlSeconds: z.number().int().min(60).max(86_400).default(3_600),
        maxBytes: z
          .number()
          .int()
          .min(1024 * 1024)
          .default(64 * 1024 * 1024),
        maxBytesPerApplication: z
          .number()
          .int()
          .min(64 * 1024)
          .default(8 * 1024 * 1024),
      })
      .prefault({}),
    /**
     * This process as one of several replicas on PostgreSQL (ignored on SQLite): image URLs and
     * streamed response items made by any replica are served by every replica, which fetches the
     * bytes (for items, the ciphertext) from the one holding them.
     */
    replica: z
      .strictObject({
        /**
         * The URL the other replicas reach this one at (`http://10.0.3.7:8080`; env
         * POCKET_GATEWAY__REPLICA__ADVERTISE_URL). Default: the listen address when it names one
         * host (`127.0.0.1`, a private IP); for `0.0.0.0` / `::`, this machine's one non-loopback
         * IPv4 address when it has exactly one (a container's).
         */
        advertiseUrl: z
          .url({ protocol: /^https?$/ })
          .refine((u) => !/[?#]/.test(u), "must have no query or fragment")
          .optional(),
        /** Longest a replica waits for a peer's answer when it fetches an image or item the peer holds. */
        peerTimeoutMs: z.number().int().min(100).max(60_000).default(5_000),
      })
      .prefault({}),
    /** How long in-flight requests may finish on shutdown. */
    drainMs: z.number().int().min(0).max(600_000).default(15_000),
    logLevel: z.enum(["debug", "info", "warn", "error"]).default("info"),
    /** Span export (`telemetry.otlpEndpoint`); off by default. */
    telemetry: TelemetryConfig.optional(),
    /**
     * `metrics.token`: `GET /metrics` only with `Authorization: Bearer <token>`; `metrics.public`:
     * open to anyone; neither: only scrapes from this machine's loopback address.
     */
    metrics: MetricsConfig.optional(),
  })
  .superRefine((config, ctx) => {
    const problem = publicSignupProblem(config.portal, config.listen.host, config.publicUrl);
    if (problem !== undefined)
      ctx.addIssue({ code: "custom", path: ["portal", "keys", problem.setting], message: problem.message });
  });
export type GatewayConfig = z.infer<typeof GatewayConfig>;

/** The prefix of environment overrides: `POCKET_GATEWAY__LISTEN__PORT=9000` sets `listen.port`. */
export const GATEWAY_ENV_PREFIX = "POCKET_GATEWAY";

/** The configuration as it may be logged: secrets replaced. */
export function redactedConfig(config: GatewayConfig): Record<string, unknown> {
  return {
    ...config,
    privateKey: config.privateKey === undefined ? undefined : "[redacted]",
    adminToken: config.adminToken === undefined ? undefined : "[redacted]",
    metrics:
      config.metrics?.token === undefined ? config.metrics : { ...config.metrics, token: "[redacted]" },
    database: {
      ...config.database,
      url: config.database.url === undefined ? undefined : redactDatabaseUrl(config.database.url),
    },
  };
}
