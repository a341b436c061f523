import { type NodeScore, Scoreboard } from "@pocket-ai/protocol";
import type { EvaluatedNode } from "../config/evaluator-config.js";
import type { EvaluatorStoreImpl } from "../db/evaluator-store.js";
import type { ScoresContext } from "./scores-context.js";

/** The nodes an evaluator measures, as `measuredKey`s: its config's `nodes`. */
export function measuredNodes(
  nodes: readonly Pick<EvaluatedNode, "address" | "serviceId">[],
): ReadonlySet<string> {
  return new Set(nodes.map((n) => measuredKey(n.address, n.serviceId)));
}

const measuredKey = (address: string, serviceId: string) => `${address} ${serviceId}`;

/**
 * The public scoreboard: every measured node's latest entry, best overall score first. Validated
 * against the protocol's schema before it leaves, so gateways can trust its shape.
 *
 * With `measured`, an entry for a node (and service) the evaluator no longer measures is left out:
 * its scores would stand for ever, its quality tiers with them, while nothing checks what the node
 * serves now (a node taken out of `nodes` once it qualified could swap its model). It comes back
 * with its next run once it is measured again.
 */
export function buildScoreboard(
  store: EvaluatorStoreImpl,
  evaluator: string,
  now: number,
  measured?: ReadonlySet<string>,
): Scoreboard {
  const nodes = [...store.board()]
    .filter((n) => measured === undefined || measured.has(measuredKey(n.address, n.serviceId)))
    .sort(
      (a: NodeScore, b: NodeScore) =>
        (b.overall?.lower ?? -1) - (a.overall?.lower ?? -1) || a.address.localeCompare(b.address),
    );
  return Scoreboard.parse({ evaluator, generatedAt: now, nodes });
}

/** How long a built board is served again while nothing was published (by the evaluator's clock). */
export const BOARD_REUSE_MS = 1_000;

/**
 * The board as {@link buildScoreboard} builds it, built again only once something was published
 * or {@link BOARD_REUSE_MS} have passed: the board is public, and each tRPC call of a batch would
 * otherwise cost a read of every entry, a sort and a schema check.
 */
export function boardReader(ctx: ScoresContext): () => Scoreboard {
  let built: { board: Scoreboard; at: number; writes: number } | undefined;
  return () => {
    const now = ctx.now();
    const writes = ctx.store.boardWrites;
    if (
      built === undefined ||
      built.writes !== writes ||
      now < built.at ||
      now - built.at >= BOARD_REUSE_MS
    ) {
      built = { board: buildScoreboard(ctx.store, ctx.evaluatorId, now, ctx.measured), at: now, writes };
    }
    return built.board;
  };
}
