import type { Rng } from "../runs/rng.js";

/**
 * Random prompts for identity probes: short, ordinary-looking openings assembled from common words,
 * so they read like customer traffic and cannot be looked up. Each run draws new ones; the
 * fingerprint set is shared by every node on the same day so their greedy answers can be compared.
 */
const OPENERS = [
  "The",
  "A",
  "Every morning the",
  "In the old",
  "One day a",
  "When the",
  "People say the",
  "After the",
  "Near the",
  "Before the",
];
const SUBJECTS = [
  "river",
  "farmer",
  "city",
  "robot",
  "garden",
  "teacher",
  "market",
  "train",
  "library",
  "mountain",
  "baker",
  "storm",
  "ship",
  "child",
  "clock",
  "forest",
];
const VERBS = ["was", "looked", "began", "found", "turned", "moved", "stood", "carried", "made", "kept"];
const TAILS = ["", " the", " a", " very", " near the", " into the", " like a"];

export function randomPrompt(rng: Rng): string {
  return `${rng.pick(OPENERS)} ${rng.pick(SUBJECTS)} ${rng.pick(VERBS)}${rng.pick(TAILS)}`;
}

/** The day's fingerprint prompts: the same for every node evaluated that day (UTC). */
export function fingerprintSeed(now: number): number {
  return Math.floor(now / 86_400_000);
}
