import { type Catalog, ClockSessionParams } from "@pocket-ai/protocol";
import { Context, Layer } from "effect";
import { z } from "zod";
import { announceGracePeriods } from "./schedules.js";

const ms = (max: number) => z.number().int().min(0).max(max);

/**
 * How the gateway routes relays: sessions, retries, hedging, selection and where scores come
 * from. The front door embeds this schema in the gateway's configuration file; the gateway's
 * private key is not here (the app passes its `KeyPair` as {@link GatewayKey}).
 */
const RoutingFields = z.strictObject({
  /** Must equal the nodes' `session`: nodes refuse relays whose header they cannot recompute. */
  session: ClockSessionParams.default({
    mode: "time",
    genesisMs: 0,
    sessionLengthMs: 600_000,
    graceMs: 60_000,
  }),
  /** How many of a service's candidates each session selects (sent to nodes in the registration ack). */
  nodesPerSession: z.number().int().min(1).max(10_000).default(24),
  /** Per `service:tier` (or `*:tier`) timeout overrides in ms; otherwise the tier's own `timeoutMs`. */
  timeouts: z.record(z.string().min(1), ms(3_600_000).min(100)).default({}),
  /**
   * A stream the gateway cuts (its client left, its shutdown) while its node has sent nothing for
   * this long counts as the node's failure (it stalled, and its client gave up), not as the
   * client's choice. A shorter wait counts against no one.
   */
  stallMs: ms(3_600_000).min(100).default(5_000),
  retry: z
    .strictObject({
      /** Nodes tried per relay, hedges included. */
      maxAttempts: z.number().int().min(1).max(10).default(3),
    })
    .prefault({}),
  hedge: z
    .strictObject({
      /** Unary text relays only: images are too costly to run twice, streams hedge nothing after their first byte. */
      enabled: z.boolean().default(true),
      /** Start a second node when the first has not answered after this long. */
      afterMs: ms(600_000).min(1).default(2_000),
    })
    .prefault({}),
  selection: z
    .strictObject({
      /** Share of picks made uniformly among healthy unsanctioned nodes, so low scorers stay measured. */
      probationShare: z.number().min(0).max(1).default(0.05),
      /** Highest share of picks one operator's nodes may get while other operators have nodes. */
      maxOperatorShare: z.number().min(0.01).max(1).default(0.5),
      /**
       * Nodes the evaluator has not scored yet (new keys) get together at most this share of the
       * picks while a scored node can serve the relay, and each is weighed at this share of the
       * scored nodes' mean score, never above the lowest of them. Keys cost nothing: a node caught
       * cheating gains no traffic by coming back under new ones. Where no candidate is scored (a
       * new network, a new service) the unscored share the traffic as before; the evaluator's
       * probes reach a new node whatever its share.
       */
      unscoredShare: z.number().min(0).max(1).default(0.1),
      /** How long a node that sent an invalid response (signature, schema, limits) gets no traffic. */
      sanctionMs: ms(86_400_000).default(60_000),
    })
    .prefault({}),
  /** The evaluator whose scoreboard sets quality-service membership and selection weights. */
  evaluator: z
    .strictObject({
      /** The evaluator's tRPC base URL, e.g. `http://127.0.0.1:8090/trpc`. */
      url: z.url(),
      pollMs: ms(86_400_000).min(100).default(30_000),
      /**
       * A board whose newest entry is older than this is logged as stale (once, until a fresh one
       * comes); it is still used. Its age is the gauge `pocket_gateway_scoreboard_age_seconds`.
       */
      staleAfterMs: ms(30 * 86_400_000)
        .min(60_000)
        .default(86_400_000),
    })
    .optional(),
  /** Organic checks: customers' completions and chat relays (unary and streamed) set aside for the evaluator to score (`organic-sampler.ts`). */
  organic: z
    .strictObject({
      share: z.number().min(0).max(1).default(0.02),
      /** Application ids that opted out. */
      optOut: z.array(z.string().min(1)).default([]),
      heldMs: ms(3_600_000).min(1_000).default(600_000),
      maxHeld: z.number().int().min(1).max(100_000).default(512),
    })
    .prefault({}),
  /**
   * A node's answer refused (or its stream cut) for failing the gateway's checks is logged as a
   * warning at most once per node and reason in this window; the others are counted
   * (`pocket_gateway_node_refused_answers_total`), and the next warning says how many were held back.
   */
  refusedAnswersLogMs: ms(86_400_000).default(60_000),
  /** How often each registered node's `health` is probed. */
  healthCheckMs: ms(3_600_000).min(50).default(10_000),
  /** How long a node stays a candidate without announcing again (it is asked to every `announceEveryMs`). */
  announceEveryMs: ms(3_600_000).min(100).default(60_000),
  /**
   * How long after its last announcement a node is forgotten: no longer loaded from the `nodes`
   * table, kept in memory, probed or listed as a node (its row stays, for its claims and
   * `admin.nodes.forgotten`). Unset: {@link DEFAULT_FORGET_NODES_AFTER_MS}, or the least allowed
   * when that is longer ({@link forgetNodesAfterMs}).
   */
  forgetNodesAfterMs: ms(30 * 86_400_000)
    .min(1_000)
    .optional(),
  /**
   * Nodes new to the gateway (never announced, or forgotten) it takes from one network (IPv4
   * address, IPv6 /64; read behind `portal.trustProxy`) per rolling hour, on all replicas together;
   * more are refused with `ANNOUNCE_LIMITED` until the count falls. Nodes it knows are never limited.
   */
  newNodesPerNetworkPerHour: z.number().int().min(1).max(1_000_000).default(20),
  /**
   * Whether nodes may announce endpoints on loopback, link-local, private (RFC 1918, CGNAT),
   * unique-local, unspecified or multicast addresses. Off: such an announcement is refused with
   * `ENDPOINT_NOT_PUBLIC`, and the gateway's connections to nodes go to public addresses only,
   * whatever a node's name resolves to later. A key costs nothing: without this, anyone could point
   * the gateway's signed requests (customers' prompts among them) at services on its own machine
   * or network. On for a gateway whose nodes share its private network (the dev network, compose).
   */
  allowPrivateEndpoints: z.boolean().default(false),
});

/**
 * How the gateway routes relays: {@link RoutingFields}, with `forgetNodesAfterMs` no shorter than
 * the announce periods and session it must outlast.
 */
export const RoutingConfig = RoutingFields.superRefine((config, ctx) => {
  const least = leastForgetNodesAfterMs(config);
  if (config.forgetNodesAfterMs !== undefined && config.forgetNodesAfterMs < least) {
    ctx.addIssue({
      code: "custom",
      path: ["forgetNodesAfterMs"],
      message: `must be at least ${least} ms (three announce periods, a session and its grace: a node stays known while it may be routed to or owed a cut stream's receipt); raise it or leave it unset`,
    });
  }
});
export type RoutingConfig = z.infer<typeof RoutingConfig>;

/** How long a node that stopped announcing is remembered when `forgetNodesAfterMs` is unset: one hour. */
export const DEFAULT_FORGET_NODES_AFTER_MS = 3_600_000;

/**
 * The least `forgetNodesAfterMs`: a node stays a candidate for `announceGracePeriods` announce
 * periods after its last announcement, and a relay it served then may leave it a cut stream's
 * receipt to deliver until that session's end plus its grace.
 */
function leastForgetNodesAfterMs(config: Pick<RoutingConfig, "announceEveryMs" | "session">): number {
  const session =
    config.session.mode === "time" ? config.session.sessionLengthMs + config.session.graceMs : 0;
  return config.announceEveryMs * announceGracePeriods + session;
}

/** How long after its last announcement a node is forgotten under this configuration. */
export function forgetNodesAfterMs(config: RoutingConfig): number {
  return (
    config.forgetNodesAfterMs ?? Math.max(DEFAULT_FORGET_NODES_AFTER_MS, leastForgetNodesAfterMs(config))
  );
}

/** The parsed {@link RoutingConfig} as a service, so layers read it from the context. */
export class RoutingSettings extends Context.Tag("gateway/RoutingSettings")<
  RoutingSettings,
  RoutingConfig
>() {
  static layer(config: z.input<typeof RoutingConfig> = {}) {
    return Layer.succeed(RoutingSettings, RoutingConfig.parse(config));
  }
}

/** The timeout of one relay attempt: an override for `service:tier`, then `*:tier`, then the tier's own. */
export function relayTimeoutMs(
  config: RoutingConfig,
  serviceId: string,
  tier: { readonly id: string; readonly timeoutMs: number },
): number {
  return config.timeouts[`${serviceId}:${tier.id}`] ?? config.timeouts[`*:${tier.id}`] ?? tier.timeoutMs;
}

/**
 * The longest a relay may run under this configuration: `retry.maxAttempts` attempts, each within
 * the longest timeout of the catalog's tiers (overrides included). Each attempt starts before the
 * ones already running have all ended (a retry after a failure, a hedge while one runs), so no
 * relay's attempts end later than this after its first.
 */
export function longestRelayMs(config: RoutingConfig, catalog: Catalog): number {
  let longest = 0;
  for (const service of catalog.services)
    for (const tier of service.tiers) longest = Math.max(longest, relayTimeoutMs(config, service.id, tier));
  return longest * config.retry.maxAttempts;
}
