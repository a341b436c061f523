import type { NodeScore } from "@pocket-ai/protocol";
import { mannWhitney } from "./mann-whitney.js";

/** Below this p-value the node's completions are called inconsistent with its declared model. */
export const MODEL_TEST_ALPHA = 0.01;
/** Fewer samples than this on either side and the test is not run. */
export const MIN_MODEL_SAMPLES = 8;

/**
 * The declared-model test. Two questions, each a two-sided Mann–Whitney U test on the mean
 * per-token log-probability (under the reference model) of sampled completions:
 * 1. node vs reference — do the node's completions look like draws from the declared model?
 * 2. early vs late half of the node's own samples (in probe order) — did the node change models
 *    mid-way?
 * The smaller p-value, Bonferroni-corrected for two tests, is reported.
 */
export function declaredModelTest(
  nodeStats: readonly number[],
  referenceStats: readonly number[],
): Pick<NodeScore["identity"], "modelTest" | "modelTestPValue"> {
  if (nodeStats.length < MIN_MODEL_SAMPLES || referenceStats.length < MIN_MODEL_SAMPLES) {
    return { modelTest: "untested", modelTestPValue: null };
  }
  const versusReference = mannWhitney(nodeStats, referenceStats).pValue;
  const half = Math.floor(nodeStats.length / 2);
  const drift = mannWhitney(nodeStats.slice(0, half), nodeStats.slice(half)).pValue;
  const p = Math.min(1, 2 * Math.min(versusReference, drift));
  return { modelTest: p < MODEL_TEST_ALPHA ? "inconsistent" : "consistent", modelTestPValue: p };
}
