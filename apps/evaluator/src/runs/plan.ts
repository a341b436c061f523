import type { RunSettings } from "../config/evaluator-config.js";
import type { Task } from "../tasks/task-definition.js";
import { createRng, deriveSeed, sha256Hex } from "./rng.js";

/** One step of a run. The list is rebuilt from the run's seed, so a resumed run does the same steps. */
export type PlanEntry =
  | { readonly key: string; readonly kind: "item"; readonly task: Task; readonly docIndex: number }
  | { readonly key: string; readonly kind: "fingerprint"; readonly index: number }
  | { readonly key: string; readonly kind: "identity"; readonly index: number }
  | { readonly key: string; readonly kind: "speed"; readonly index: number };

/** Fingerprint prompts per node and day, for shared-backend grouping. */
export const FINGERPRINT_PROMPTS = 10;

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
