import { Effect } from "effect";
import type { Doc, Metric } from "../tasks/task-definition.js";
import { runUnitTests, type SandboxLimits } from "./js-sandbox.js";

const PUNCTUATION = /[\p{P}\p{S}]/gu;

function normalise(text: string, ignoreCase: boolean, ignorePunctuation: boolean): string {
  let out = text.trim();
  if (ignoreCase) out = out.toLowerCase();
  if (ignorePunctuation) out = out.replace(PUNCTUATION, "");
  return out.replace(/\s+/g, " ").trim();
}

/**
 * Runs a completed JavaScript program in a worker thread (fresh V8 context, no `require`, no
 * `process`, no I/O, a heap cap and a hard wall-clock kill); passes when `tests` evaluates to true.
 */
export const passesUnitTests = (program: string, tests: string, limits?: SandboxLimits) =>
  Effect.promise(() => runUnitTests(program, tests, limits));

/** One generated answer's score (0 or 1) under one metric; unit tests run in the sandbox. */
export function scoreGeneration(
  metric: Metric,
  answer: string,
  target: string,
  context: { readonly prompt: string; readonly rawCompletion: string; readonly doc: Doc },
): Effect.Effect<number> {
  if (metric.metric === "js_unit_tests") {
    const suffix = typeof context.doc.program_suffix === "string" ? context.doc.program_suffix : "";
    const tests = typeof context.doc.tests === "string" ? context.doc.tests : "false";
    // The program is the doc's `code` (the prompt minus any prose before it) when given.
    const code = typeof context.doc.code === "string" ? context.doc.code : context.prompt;
    return passesUnitTests(`${code}${context.rawCompletion}${suffix}`, tests).pipe(
      Effect.map((passed) => (passed ? 1 : 0)),
    );
  }
  return Effect.sync(() => scoreText(metric, answer, target));
}

function scoreText(
  metric: Exclude<Metric, { metric: "js_unit_tests" }>,
  answer: string,
  target: string,
): number {
  switch (metric.metric) {
    case "exact_match":
      return normalise(answer, metric.ignore_case, metric.ignore_punctuation) ===
        normalise(target, metric.ignore_case, metric.ignore_punctuation)
        ? 1
        : 0;
    case "contains":
      return target.trim() !== "" && answer.toLowerCase().includes(target.trim().toLowerCase()) ? 1 : 0;
    case "regex_match":
      return new RegExp(target, metric.flags).test(answer.trim()) ? 1 : 0;
    case "acc":
    case "acc_norm":
      throw new Error(`${metric.metric} applies to multiple_choice tasks only`);
  }
}
