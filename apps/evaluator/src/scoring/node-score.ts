import { type ErrorCode, GATEWAY_OWN_CODES, type NodeScore } from "@pocket-ai/protocol";
import type { EvaluatedNode } from "../config/evaluator-config.js";
import type { ItemResultRow } from "../db/evaluator-store.js";
import { declaredModelTest } from "../identity/model-test.js";
import { organicDodged, organicMismatch } from "../identity/organic-check.js";
import { IMAGES_CATEGORY, imageScore } from "../images/image-findings.js";
import { IMAGE_REFERENCE_PENALTY, referenceComparison, referenceModelOf } from "../images/image-reference.js";
import { answerKeyFinding } from "./answer-key.js";
import { categoryEstimates, type ItemCredit, tallyTasks, taskOf, type WeightedRun } from "./evidence.js";
import { percentile } from "./percentile.js";
import { qualifyingServices, type TierBar } from "./tiers.js";

/** How a text node's answers to customers are checked: `NodeScore.identity.organicCheck`. */
export type OrganicBasis = NonNullable<NodeScore["identity"]["organicCheck"]>;

/** The category every scored item also counts in; the catalog's `quality-gpt-*` services use it. */
export const GENERAL_CATEGORY = "general";

/**
 * Failures of the gateway or of the evaluator's own access, which say nothing about the node: the
 * gateway's own codes, which it never gives for what a node pinned by the probe did.
 */
const NOT_THE_NODE: ReadonlySet<ErrorCode> = GATEWAY_OWN_CODES;

/** Reserved for items whose prompt log-probabilities are made up (older runs stored them so). */
export const FAKE_LOGPROBS_CODE: ErrorCode = "INVALID_NODE_RESPONSE";
/** Items with constant log-probabilities (and at least half of them) before a node is flagged. */
export const FAKE_LOGPROBS_MIN_ITEMS = 3;

/**
 * What an item counts for: its score; 0 when the node refused or failed it (a node must not escape
 * hard items by erroring on them); nothing when it could not be asked honestly — a capability the
 * node does not declare (no prompt logprobs), made-up logprobs (flagged instead), or a failure of
 * the gateway rather than the node.
 */
export const itemCredit: ItemCredit = (row) => {
  if (row.status === "scored") return row.score;
  if (row.status === "unsupported") return null;
  return row.errorCode !== null && NOT_THE_NODE.has(row.errorCode as ErrorCode) ? null : 0;
};

const probeOrder = (a: ItemResultRow, b: ItemResultRow) =>
  a.createdAt - b.createdAt || a.itemKey.localeCompare(b.itemKey);

/**
 * A node's published entry. Category scores pool the evidence of the run just finished (`rows`)
 * and the node's earlier runs on the service (`history`, each weighted by decay); speed, errors and
 * identity come from the latest run. Tiers follow the pooled intervals with hysteresis against the
 * previous entry's, and a finding that the node cheats — a failed model test, answers following the
 * public key, made-up logprobs, an image node's pictures unlike its reference's — takes every tier
 * away and is named in `penalties`. A text node whose customers' answers cannot be checked
 * (`organicCheck` "none": no reference and no scorer) is granted no tier either, without a penalty:
 * its probe scores are published, but a quality tier is a promise about what customers get.
 */
export function nodeScoreOf(options: {
  readonly node: EvaluatedNode;
  readonly rows: readonly ItemResultRow[];
  readonly history?: readonly WeightedRun[];
  /** Multiple-choice tasks, each with the share a guess gets right (1 / its choices). */
  readonly loglikelihoodTasks: ReadonlyMap<string, number>;
  readonly sharedBackendGroup: string | null;
  readonly bars: readonly TierBar[];
  readonly previous?: NodeScore | undefined;
  /** Text nodes: how customers' answers are checked (`run-node.ts`); absent for image nodes. */
  readonly organicCheck?: OrganicBasis | undefined;
  readonly now: number;
}): NodeScore {
  const { rows, node } = options;
  const runs: WeightedRun[] = [{ rows, weight: 1 }, ...(options.history ?? [])];
  const pooled = categoryEstimates(tallyTasks(runs, itemCredit));
  const categories: NodeScore["categories"] = { ...pooled.categories };
  const images = imageScore(rows);
  if (images !== undefined) categories[IMAGES_CATEGORY] = images.estimate;
  if (pooled.general !== undefined) categories[GENERAL_CATEGORY] = pooled.general;
  // An image node's overall score is its image score; a text node's is `general`.
  const overall = images?.estimate ?? pooled.general;

  const llRows = rows.filter((r) => r.kind === "item" && options.loglikelihoodTasks.has(taskOf(r)));
  const scoredLl = llRows.filter((r) => r.status === "scored");
  const fake = scoredLl.filter((r) => r.stat === 1);
  const loglikelihood = llRows.some((r) => r.status === "unsupported" && r.errorCode !== FAKE_LOGPROBS_CODE)
    ? "unsupported"
    : llRows.some((r) => r.status === "scored")
      ? "supported"
      : "unknown";
  // A small model can tie every choice on a few items (unseen words); made-up numbers tie on most.
  const fakeLogprobs = fake.length >= Math.max(FAKE_LOGPROBS_MIN_ITEMS, scoredLl.length / 2);

  const speed = rows.filter((r) => r.kind === "speed" && r.status === "scored");
  // The error rate is the node's: probes the gateway failed with its own code (the evaluator's key
  // out of budget or rate-limited, the gateway's database down) say nothing about the node.
  const counted = rows.filter(
    (r) =>
      r.status !== "unsupported" &&
      r.category !== "organic" &&
      !(r.status === "error" && r.errorCode !== null && NOT_THE_NODE.has(r.errorCode as ErrorCode)),
  );
  const errors = counted.filter((r) => r.status === "error").length;

  const model = rows
    .filter((r) => r.kind === "identity" && r.category === "model" && r.status === "scored")
    .sort(probeOrder);
  // Image nodes: the model test is the comparison of their pictures with the reference's.
  const reference = images === undefined ? undefined : referenceComparison(rows);
  const test =
    reference !== undefined
      ? { modelTest: reference.modelTest, modelTestPValue: reference.modelTestPValue }
      : node.declaredModel === null
        ? { modelTest: "untested" as const, modelTestPValue: null }
        : declaredModelTest(
            model.map((r) => r.stat ?? 0),
            model.map((r) => r.score ?? 0),
          );
  const declaredModel =
    reference !== undefined && reference.modelTest !== "untested"
      ? referenceModelOf(node)
      : node.declaredModel;
  const answerKey =
    images === undefined && answerKeyFinding(runs, itemCredit, options.loglikelihoodTasks).flagged;

  // Organic checks, pooled over the runs kept as evidence: customers' outputs under the reference.
  const organicRows = runs.flatMap((run) =>
    run.rows.filter((r) => r.kind === "identity" && r.category === "organic"),
  );
  // A node that fails the repeats of its customers' requests hides what it served them as surely
  // as one whose answers gap: the same finding.
  const organic =
    organicMismatch(organicRows.flatMap((r) => (r.status === "scored" && r.stat !== null ? [r.stat] : []))) ||
    organicDodged(
      organicRows.filter((r) => r.status === "error").length,
      organicRows.filter((r) => r.status === "scored").length,
      counted.length === 0 ? 0 : errors / counted.length,
    );

  const penalties = [
    ...(test.modelTest === "inconsistent"
      ? [reference === undefined ? "model-mismatch" : IMAGE_REFERENCE_PENALTY]
      : []),
    ...(organic ? ["organic-mismatch"] : []),
    ...(answerKey ? ["answer-key"] : []),
    ...(fakeLogprobs ? ["fake-logprobs"] : []),
  ];
  const previous = options.previous?.penalties?.length ? [] : (options.previous?.qualifies ?? []);
  const unchecked = options.organicCheck === "none" || options.node.grantsTiers === false;

  return {
    address: node.address,
    serviceId: node.serviceId,
    categories,
    ...(overall === undefined ? {} : { overall }),
    qualifies:
      penalties.length > 0 || unchecked ? [] : qualifyingServices(categories, options.bars, previous),
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
      declaredModel,
      ...test,
      ...(images === undefined ? {} : { cachedAnswers: images.cachedAnswers }),
      ...(images === undefined ? { answerKey, fakeLogprobs } : {}),
      ...(options.organicCheck === undefined ? {} : { organicCheck: options.organicCheck }),
      ...(options.organicCheck === undefined || options.organicCheck === "none"
        ? {}
        : { organicChecked: organicRows.filter((r) => r.status === "scored").length }),
    },
    loglikelihood,
    ...(images === undefined ? {} : { images: images.findings }),
    ...(penalties.length > 0 ? { penalties } : {}),
    updatedAt: options.now,
  };
}
