import {
  type ErrorCode,
  GATEWAY_OWN_CODES,
  type ImageFindings,
  type ScoreEstimate,
} from "@pocket-ai/protocol";
import type { ItemResultRow } from "../db/evaluator-store.js";
import { wilsonInterval } from "../scoring/wilson.js";
import { CONTENT_CHECKS, contentCategory } from "./content-probe.js";
import { IMAGE_PROBE, IMAGE_SEED_REPEAT } from "./image-probe.js";
import { CACHED_MIN_PAIRS, DUPLICATE_MAX_DISTANCE, SEED_MAX_DISTANCE } from "./image-thresholds.js";
import { hashDistance } from "./perceptual-hash.js";

/** The `categories` key image nodes are scored under. */
export const IMAGES_CATEGORY = "images";

export interface ImageScore {
  /** Share of all checks passed, with its Wilson interval: the `images` category. */
  readonly estimate: ScoreEstimate;
  readonly findings: ImageFindings;
  readonly cachedAnswers: boolean;
}

type CheckName = keyof ImageFindings["checks"];

/**
 * Failures of an image probe that fail no check: the gateway's own; a capability the node does not
 * announce (an announced one refused is an invalid answer); and a timeout, which may be the
 * evaluator's own (`gateway.timeoutMs`, 60 s by default) on a tier that allows a picture longer.
 */
const EXCUSED: ReadonlySet<string> = new Set<ErrorCode>([
  ...GATEWAY_OWN_CODES,
  "UNSUPPORTED_PARAMETER",
  "UNSUPPORTED_OPERATION",
  "TIMEOUT",
]);
const indexOf = (row: ItemResultRow) => row.itemKey.slice(row.itemKey.indexOf("/") + 1);
const passed = (row: ItemResultRow, check: string) => row.checks?.[check] === true;

/**
 * Scores an image node from its stored probe rows. Per picture: `png`, `size`, `notBlank` (as
 * recorded), and for first asks `distinct` — no answer to a different prompt is a near-duplicate
 * of it; per repeat: `seed` — the repeat's pixels equal its first ask's, or their dHashes are at
 * most `SEED_MAX_DISTANCE` apart. Undecodable and blank pictures are not compared (they already
 * fail `notBlank`; a blank node is flagged as blank, not also as cached). A probe the node failed
 * (any error but those in `EXCUSED`: the gateway's own, a capability not announced, a timeout) fails
 * every check it was asked for: a node
 * cannot skip the hard probes (an inpaint, a seed repeat) by erroring on them. Content probes add
 * one check each (`colour`, `img2img`, `inpaint`, `outpaint`: `content-checks.ts`). The category
 * is the share of all checks passed, like an item share.
 */
export function imageScore(rows: readonly ItemResultRow[]): ImageScore | undefined {
  const all = rows.filter((r) => r.kind === "image" && r.status === "scored");
  const failed = rows.filter(
    (r) => r.kind === "image" && r.status === "error" && !(r.errorCode !== null && EXCUSED.has(r.errorCode)),
  );
  if (all.length === 0 && failed.length === 0) return undefined;
  const scored = all.filter((r) => r.category === IMAGE_PROBE || r.category === IMAGE_SEED_REPEAT);
  const tallies: Record<CheckName, number[]> = {
    png: [],
    size: [],
    notBlank: [],
    seed: [],
    distinct: [],
    colour: [],
    img2img: [],
    inpaint: [],
    outpaint: [],
  };
  for (const check of CONTENT_CHECKS)
    for (const row of all.filter((r) => r.category === contentCategory(check)))
      tallies[check].push(passed(row, check) ? 1 : 0);
  for (const row of scored)
    for (const check of ["png", "size", "notBlank"] as const) tallies[check].push(passed(row, check) ? 1 : 0);
  for (const row of failed) {
    const content = CONTENT_CHECKS.find((check) => row.category === contentCategory(check));
    if (content !== undefined) tallies[content].push(0);
    else if (row.category === IMAGE_PROBE || row.category === IMAGE_SEED_REPEAT) {
      for (const check of ["png", "size", "notBlank"] as const) tallies[check].push(0);
      if (row.category === IMAGE_SEED_REPEAT) tallies.seed.push(0);
    }
  }

  const firsts = scored.filter((r) => r.category === IMAGE_PROBE);
  const comparable = firsts.filter((r) => passed(r, "notBlank") && r.perceptualHash !== null);
  let nearDuplicatePairs = 0;
  let duplicateDistance: number | null = null;
  const hasDuplicate = new Set<ItemResultRow>();
  for (let i = 0; i < comparable.length; i++) {
    for (let j = i + 1; j < comparable.length; j++) {
      const a = comparable[i]!;
      const b = comparable[j]!;
      if (a.promptHash === b.promptHash) continue;
      const distance = hashDistance(a.perceptualHash!, b.perceptualHash!);
      duplicateDistance = Math.min(duplicateDistance ?? 1, distance);
      if (distance <= DUPLICATE_MAX_DISTANCE) {
        nearDuplicatePairs += 1;
        hasDuplicate.add(a).add(b);
      }
    }
  }
  if (comparable.length > 1)
    for (const row of comparable) tallies.distinct.push(hasDuplicate.has(row) ? 0 : 1);

  let seedDistance: number | null = null;
  const firstByIndex = new Map(firsts.map((r) => [indexOf(r), r]));
  for (const repeat of scored.filter((r) => r.category === IMAGE_SEED_REPEAT)) {
    const first = firstByIndex.get(indexOf(repeat));
    if (first === undefined) continue;
    const identical = passed(first, "png") && first.responseHash === repeat.responseHash;
    const distance = identical
      ? 0
      : first.perceptualHash === null || repeat.perceptualHash === null
        ? 1
        : hashDistance(first.perceptualHash, repeat.perceptualHash);
    seedDistance = Math.max(seedDistance ?? 0, distance);
    tallies.seed.push(identical || (passed(repeat, "png") && distance <= SEED_MAX_DISTANCE) ? 1 : 0);
  }

  const rate = (values: readonly number[]) =>
    wilsonInterval(
      values.reduce((a, b) => a + b, 0),
      values.length,
    );
  const content = Object.fromEntries(
    CONTENT_CHECKS.flatMap((check) => (tallies[check].length === 0 ? [] : [[check, rate(tallies[check])]])),
  ) as Partial<Record<(typeof CONTENT_CHECKS)[number], ReturnType<typeof rate>>>;
  return {
    estimate: rate(Object.values(tallies).flat()),
    cachedAnswers: nearDuplicatePairs >= CACHED_MIN_PAIRS,
    findings: {
      checks: {
        png: rate(tallies.png),
        size: rate(tallies.size),
        notBlank: rate(tallies.notBlank),
        seed: rate(tallies.seed),
        distinct: rate(tallies.distinct),
        ...content,
      },
      seedDistance,
      duplicateDistance,
      nearDuplicatePairs,
    },
  };
}
