import type { RunSettings } from "../src/config/evaluator-config.js";

/** A small text run for tests of the runner (four items a task, two speed probes, no images): the base each test overrides. */
export const SMALL_TEXT_RUN: RunSettings = {
  perNodeRatePerSecond: 5000,
  nodeConcurrency: 1,
  itemsPerTask: 4,
  identityPrompts: 0,
  speedProbes: 2,
  imageProbes: 0,
  imageSeedRepeats: 0,
  imageContentProbes: 0,
  imageReferenceProbes: 0,
  imageMinSide: 64,
  imageMaxSide: 64,
  evidenceDecay: 0.7,
  evidenceRounds: 8,
  roundIntervalMs: 60_000,
};
