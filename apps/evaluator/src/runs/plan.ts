import type { RunSettings } from "../config/evaluator-config.js";
import { CONTENT_CHECKS, type ContentCheck } from "../images/content-probe.js";
import type { Task } from "../tasks/task-definition.js";
import { createRng, deriveSeed, sha256Hex } from "./rng.js";

/** One step of a run. The list is rebuilt from the run's seed, so a resumed run does the same steps. */
export type PlanEntry =
  | { readonly key: string; readonly kind: "item"; readonly task: Task; readonly docIndex: number }
  | { readonly key: string; readonly kind: "fingerprint"; readonly index: number }
  | { readonly key: string; readonly kind: "identity"; readonly index: number }
  | { readonly key: string; readonly kind: "speed"; readonly index: number }
  | { readonly key: string; readonly kind: "image"; readonly index: number; readonly repeat: boolean }
  | {
      readonly key: string;
      readonly kind: "image-content";
      readonly check: ContentCheck;
      readonly index: number;
    }
  | { readonly key: string; readonly kind: "image-reference"; readonly index: number };

/** Fingerprint prompts per node and day, for shared-backend grouping. */
export const FINGERPRINT_PROMPTS = 10;

/** The suite hash of image runs (they use no tasks): a changed probe scheme never resumes an old plan. */
export const IMAGE_SUITE_HASH = sha256Hex("images:v3");

/**
 * An image node's run: `imageProbes` first asks, `imageSeedRepeats` repeats of the first ones,
 * `imageContentProbes` probes of each content check and, when the node's model has a reference,
 * `imageReferenceProbes` comparisons with it, in a seeded random order, so a repeat comes later and
 * among other requests, as a customer's "same seed again" does.
 */
export function planImageRun(settings: RunSettings, seed: number, withReference = false): PlanEntry[] {
  const entries: PlanEntry[] = [];
  for (let i = 0; i < settings.imageProbes; i++)
    entries.push({ key: `image/${i}`, kind: "image", index: i, repeat: false });
  for (let i = 0; i < Math.min(settings.imageSeedRepeats, settings.imageProbes); i++)
    entries.push({ key: `image-seed/${i}`, kind: "image", index: i, repeat: true });
  for (const check of CONTENT_CHECKS)
    for (let i = 0; i < settings.imageContentProbes; i++)
      entries.push({ key: `image-${check}/${i}`, kind: "image-content", check, index: i });
  if (withReference)
    for (let i = 0; i < settings.imageReferenceProbes; i++)
      entries.push({ key: `image-reference/${i}`, kind: "image-reference", index: i });
  const order = createRng(deriveSeed(seed, "image-order")).permutation(entries.length);
  const firstAt = new Map<number, number>();
  const ordered = order.map((i) => entries[i]!);
  ordered.forEach((e, at) => {
    if (e.kind === "image" && !e.repeat) firstAt.set(e.index, at);
  });
  // A repeat drawn before its first ask swaps places with it: the first ask always comes first.
  ordered.forEach((e, at) => {
    const first = e.kind === "image" && e.repeat ? firstAt.get(e.index) : undefined;
    if (first !== undefined && first > at) [ordered[at], ordered[first]] = [ordered[first]!, ordered[at]!];
  });
  return ordered;
}

/** Identifies a suite by its tasks and item ids. */
export function suiteHash(tasks: readonly Task[]): string {
  return sha256Hex(tasks.map((t) => `${t.definition.task}:${t.docs.map((d) => d.id).join(",")}`).join("|"));
}

/**
 * The run's steps in a seeded random order: scored items (all, or a random sample per task),
 * fingerprint, identity and speed probes interleaved with them — so identity samples span the
 * whole run (a mid-run model swap shows up as drift) and the probe sequence has no fixed shape.
 */
export function planRun(tasks: readonly Task[], settings: RunSettings, seed: number): PlanEntry[] {
  const entries: PlanEntry[] = [];
  for (const task of tasks) {
    const rng = createRng(deriveSeed(seed, "sample", task.definition.task));
    const all = task.docs.map((_, i) => i);
    const chosen =
      settings.itemsPerTask > 0 ? rng.sample(all, Math.min(settings.itemsPerTask, all.length)) : all;
    for (const docIndex of chosen) {
      entries.push({
        key: `${task.definition.task}/${task.docs[docIndex]!.id}`,
        kind: "item",
        task,
        docIndex,
      });
    }
  }
  for (let i = 0; i < FINGERPRINT_PROMPTS; i++)
    entries.push({ key: `fingerprint/${i}`, kind: "fingerprint", index: i });
  for (let i = 0; i < settings.identityPrompts; i++)
    entries.push({ key: `identity/${i}`, kind: "identity", index: i });
  for (let i = 0; i < settings.speedProbes; i++) entries.push({ key: `speed/${i}`, kind: "speed", index: i });
  const order = createRng(deriveSeed(seed, "order")).permutation(entries.length);
  return order.map((i) => entries[i]!);
}
