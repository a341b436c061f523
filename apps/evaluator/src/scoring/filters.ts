import type { FilterStep } from "../tasks/task-definition.js";

/**
 * lm-evaluation-harness style filters over one model response: a pipeline of steps, each taking
 * the list of candidate answers to a new list. `regex` extracts (group 1 when the pattern has a
 * group, else the whole match), `take_first` keeps the first candidate.
 */
export function applyFilters(response: string, steps: readonly FilterStep[]): string {
  let candidates = [response];
  for (const step of steps) {
    switch (step.function) {
      case "regex":
        candidates = candidates.map((c) => {
          const matches = [...c.matchAll(new RegExp(step.regex_pattern, "g"))];
          const index = step.group_select < 0 ? matches.length + step.group_select : step.group_select;
          const match = matches[index];
          if (match === undefined) return step.fallback;
          return match[1] ?? match[0];
        });
        break;
      case "take_first":
        candidates = candidates.slice(0, 1);
        break;
      case "strip":
        candidates = candidates.map((c) => c.trim());
        break;
      case "lowercase":
        candidates = candidates.map((c) => c.toLowerCase());
        break;
    }
  }
  return candidates[0] ?? "";
}
