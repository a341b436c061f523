import type { NodeScore } from "@pocket-ai/protocol";
import type { EvaluatedNode } from "../config/evaluator-config.js";
import type { ItemResultRow } from "../db/evaluator-store.js";
import { declaredModelTest } from "../identity/model-test.js";
import { IMAGES_CATEGORY, imageScore } from "../images/image-findings.js";
import { percentile } from "./percentile.js";
import { qualifyingServices, type TierBar } from "./tiers.js";
import { estimate } from "./wilson.js";

/** The category every scored item also counts in; the catalog's `quality-gpt-*` services use it. */
export const GENERAL_CATEGORY = "general";

const probeOrder = (a: ItemResultRow, b: ItemResultRow) =>
  a.createdAt - b.createdAt || a.itemKey.localeCompare(b.itemKey);

/**
 * A node's published entry from one run's stored results. Items the backend could not run
 * (no prompt logprobs) are left out of every score; failed probes count in the error rate and
 * not in the scores, so a flaky node is not also marked as ignorant.
 */
export function nodeScoreOf(options: {
  readonly node: EvaluatedNode;
  readonly rows: readonly ItemResultRow[];
  readonly loglikelihoodTasks: ReadonlySet<string>;
  readonly sharedBackendGroup: string | null;
  readonly bars: readonly TierBar[];
  readonly now: number;
}): NodeScore {
  const { rows, node } = options;
  const scored = rows.filter((r) => r.kind === "item" && r.status === "scored" && r.score !== null);
  const byCategory = new Map<string, number[]>();
  for (const r of scored) {
    const key = r.category ?? "uncategorised";
    byCategory.set(key, [...(byCategory.get(key) ?? []), r.score!]);
  }
  const categories: NodeScore["categories"] = {};
  for (const [category, scores] of [...byCategory].sort(([a], [b]) => a.localeCompare(b))) {
    categories[category] = estimate(scores);
  }
  const images = imageScore(rows);
  if (images !== undefined) categories[IMAGES_CATEGORY] = images.estimate;
  // An image node's overall score is its image score; text nodes' is over all scored items.
  const overall = images?.estimate ?? estimate(scored.map((r) => r.score!));
  if (scored.length > 0) categories[GENERAL_CATEGORY] = estimate(scored.map((r) => r.score!));

  const taskOf = (r: ItemResultRow) => r.itemKey.split("/")[0] ?? "";
  const llRows = rows.filter((r) => r.kind === "item" && options.loglikelihoodTasks.has(taskOf(r)));
  const loglikelihood = llRows.some((r) => r.status === "unsupported")
    ? "unsupported"
    : llRows.some((r) => r.status === "scored")
      ? "supported"
      : "unknown";

  const speed = rows.filter((r) => r.kind === "speed" && r.status === "scored");
  const counted = rows.filter((r) => r.status !== "unsupported");
  const errors = counted.filter((r) => r.status === "error").length;

  const model = rows
    .filter((r) => r.kind === "identity" && r.category === "model" && r.status === "scored")
    .sort(probeOrder);
  const test =
    node.declaredModel === null
      ? { modelTest: "untested" as const, modelTestPValue: null }
      : declaredModelTest(
          model.map((r) => r.stat ?? 0),
          model.map((r) => r.score ?? 0),
        );

  return {
    address: node.address,
    serviceId: node.serviceId,
    categories,
    ...(scored.length > 0 || images !== undefined ? { overall } : {}),
    qualifies: qualifyingServices(categories, options.bars),
    speed: {
      ttftP10Ms: percentile(
        speed.flatMap((r) => (r.ttftMs === null ? [] : [r.ttftMs])),
        90,
      ),
      tokensPerSecondP10: percentile(
        speed.flatMap((r) => (r.stat === null ? [] : [r.stat])),
        10,
      ),
      samples: speed.length,
    },
    errorRate: counted.length === 0 ? 0 : errors / counted.length,
    identity: {
      sharedBackendGroup: options.sharedBackendGroup,
      declaredModel: node.declaredModel,
      ...test,
      ...(images === undefined ? {} : { cachedAnswers: images.cachedAnswers }),
    },
    loglikelihood,
    ...(images === undefined ? {} : { images: images.findings }),
    updatedAt: options.now,
  };
}
