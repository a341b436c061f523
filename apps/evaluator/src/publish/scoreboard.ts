import { type NodeScore, Scoreboard } from "@pocket-ai/protocol";
import type { EvaluatorStoreImpl } from "../db/evaluator-store.js";

/**
 * The public scoreboard: every node's latest entry, best overall score first. Validated against
 * the protocol's schema before it leaves, so gateways can trust its shape.
 */
export function buildScoreboard(store: EvaluatorStoreImpl, evaluator: string, now: number): Scoreboard {
  const nodes = [...store.board()].sort(
    (a: NodeScore, b: NodeScore) =>
      (b.overall?.lower ?? -1) - (a.overall?.lower ?? -1) || a.address.localeCompare(b.address),
  );
  return Scoreboard.parse({ evaluator, generatedAt: now, nodes });
}
