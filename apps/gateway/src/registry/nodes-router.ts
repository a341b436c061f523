import type { GatewayNodeApi } from "@pocket-ai/link";
import { Clock, Effect } from "effect";
import { z } from "zod";
import { Selector } from "../routing/selector.js";
import { ScoresPoller } from "../scores/scores-poller.js";
import { adminProcedure, type GatewayServices, router, runProcedure } from "../trpc.js";
import { FORGOTTEN_PAGE_MAX, NodeRegistry } from "./node-registry.js";
import type { RegisteredNode } from "./registered-node.js";
import { UnknownNode } from "./registry-errors.js";

/**
 * The gateway's side of `nodes.announce` (the link's `GatewayNodeApi`): a signed announcement in,
 * a `RegistrationAck` out. Verification failures are coded errors; a node that serves nothing this
 * gateway sells gets `accepted: false` with the reason.
 */
export const nodeAnnouncements = {
  // A context that reads no network (none of the gateway's own) counts every caller as one.
  announce: (input, source) =>
    Effect.flatMap(NodeRegistry, (registry) =>
      registry.announce(input, { network: source.network ?? "unknown" }),
    ),
} satisfies Pick<GatewayNodeApi<GatewayServices>, "announce">;

const describeNode = (node: RegisteredNode) =>
  Effect.gen(function* () {
    const registry = yield* NodeRegistry;
    const selector = yield* Selector;
    const scores = yield* ScoresPoller;
    const now = yield* Clock.currentTimeMillis;
    const score = scores.score(node.address);
    const fresh = registry.isFresh(node, now);
    const probed = registry.health(node.address);
    return {
      address: node.address,
      endpoint: node.endpoint,
      operator: node.operator ?? null,
      services: [...node.offers.values()].map((o) => ({
        serviceId: o.serviceId,
        tiers: o.tiers,
        declaredModel: o.model.declared,
        quantization: o.model.quantization,
      })),
      hardware: node.announcement.hardware,
      software: node.announcement.software,
      registeredAt: node.registeredAt,
      lastAnnouncedAt: node.lastAnnouncedAt,
      fresh,
      // One word for the operator: `stale` (no announcement within the grace: not routed to, not
      // probed), `down` (probes failing), `up`, or `unprobed`.
      state: !fresh ? "stale" : !probed.healthy ? "down" : probed.checkedAt === undefined ? "unprobed" : "up",
      health: {
        ...probed,
        // A stale node's last probe is old news: it is not routed to, so it is not healthy.
        healthy: fresh && probed.healthy,
        /** Why the node is not healthy, for the operator; null when it is. */
        reason: !fresh
          ? `stale: no announcement since ${new Date(node.lastAnnouncedAt).toISOString()}; not routed to or probed until it announces again`
          : !probed.healthy
            ? `down: unreachable (${probed.failures} failed health probes or relays in a row); routed to only when no healthy node is left`
            : null,
      },
      stats: selector.stats.view(node.address, now),
      score:
        score === undefined
          ? null
          : { overall: score.overall?.mean ?? null, qualifies: score.qualifies, updatedAt: score.updatedAt },
    };
  });

/** The operator's view of the nodes; mounted by the app under `admin.nodes`. */
export const nodesAdminRouter = router({
  /** Every registered node with its health, observed latency and errors, sanction and evaluator score. */
  list: adminProcedure.query(({ ctx }) =>
    runProcedure(
      ctx,
      Effect.flatMap(NodeRegistry, (registry) => Effect.forEach(registry.list(), describeNode)),
    ),
  ),
  get: adminProcedure.input(z.object({ address: z.string().min(1).max(128) })).query(({ ctx, input }) =>
    runProcedure(
      ctx,
      Effect.gen(function* () {
        const registry = yield* NodeRegistry;
        const node = registry.get(input.address);
        if (node === undefined) {
          return yield* new UnknownNode({ address: input.address, forgetAfterMs: registry.forgetAfterMs });
        }
        return yield* describeNode(node);
      }),
    ),
  ),
  /**
   * Nodes that stopped announcing longer ago than `routing.forgetNodesAfterMs` (not in `list`),
   * newest first, a page at a time: pass the last one's `lastAnnouncedAt` and `address` as `after`
   * for the next page. Their rows are kept (their claims are still taken); a node that announces
   * again is routed to as before.
   */
  forgotten: adminProcedure
    .input(
      z
        .strictObject({
          limit: z.number().int().min(1).max(FORGOTTEN_PAGE_MAX).default(50),
          after: z
            .strictObject({
              lastAnnouncedAt: z.number().int().min(0),
              address: z.string().min(1).max(128),
            })
            .optional(),
        })
        .prefault({}),
    )
    .query(({ ctx, input }) =>
      runProcedure(
        ctx,
        Effect.flatMap(NodeRegistry, (registry) =>
          Effect.map(registry.forgotten(input.limit, input.after), (nodes) => ({
            forgetAfterMs: registry.forgetAfterMs,
            nodes,
          })),
        ),
      ),
    ),
  /** Lifts a node's sanction before it expires. */
  unsanction: adminProcedure
    .input(z.object({ address: z.string().min(1).max(128) }))
    .mutation(({ ctx, input }) =>
      runProcedure(
        ctx,
        Effect.map(Selector, (selector) => {
          selector.stats.clearSanction(input.address);
          return { address: input.address };
        }),
      ),
    ),
  /** Where the scores come from and whether the last poll worked. */
  scores: adminProcedure.query(({ ctx }) =>
    runProcedure(
      ctx,
      Effect.map(ScoresPoller, (scores) => scores.status()),
    ),
  ),
});
