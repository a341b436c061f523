import { runInNewContext } from "node:vm";
import type { Doc, Metric } from "../tasks/task-definition.js";

const PUNCTUATION = /[\p{P}\p{S}]/gu;

function normalise(text: string, ignoreCase: boolean, ignorePunctuation: boolean): string {
  let out = text.trim();
  if (ignoreCase) out = out.toLowerCase();
  if (ignorePunctuation) out = out.replace(PUNCTUATION, "");
  return out.replace(/\s+/g, " ").trim();
}

/**
 * Runs a completed JavaScript program in a fresh V8 context with no globals beyond the language's
 * own (no `require`, no `process`, no I/O) and a 50 ms budget; passes when `tests` evaluates to true.
 */
export function passesUnitTests(program: string, tests: string): boolean {
  try {
    return (
      runInNewContext(`"use strict";\n${program}\n;(${tests})`, Object.create(null), { timeout: 50 }) === true
    );
  } catch {
    return false;
  }
}

/** One generated answer's score (0 or 1) under one metric. */
export function scoreGeneration(
  metric: Metric,
  answer: string,
  target: string,
  context: { readonly prompt: string; readonly rawCompletion: string; readonly doc: Doc },
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
    case "js_unit_tests": {
      const suffix = typeof context.doc.program_suffix === "string" ? context.doc.program_suffix : "";
      const tests = typeof context.doc.tests === "string" ? context.doc.tests : "false";
      // The program is the doc's `code` (the prompt minus any prose before it) when given.
      const code = typeof context.doc.code === "string" ? context.doc.code : context.prompt;
      return passesUnitTests(`${code}${context.rawCompletion}${suffix}`, tests) ? 1 : 0;
    }
    case "acc":
    case "acc_norm":
      throw new Error(`${metric.metric} applies to multiple_choice tasks only`);
  }
}
