import { type ProbeTexts, PUBLIC_PROBE_TEXTS } from "../probe-text/probe-texts.js";
import { letterPrompt } from "../scoring/letter-choice.js";
import { buildItem } from "../tasks/build-item.js";
import type { PlanEntry } from "./plan.js";
import { createRng, deriveSeed } from "./rng.js";
import { prose } from "./run-item.js";

/**
 * The prompt lengths of a run's text probes before they are shaped like customers' (sorted):
 * items as they are asked (a multiple-choice question with its lettered choices, a generation's
 * prompt), and the short random prompts of fingerprint, identity and speed probes. Padding gives
 * each probe the customer length at its rank among these (`drawPromptLength`), so the run's
 * prompt lengths together follow customers' instead of sitting above them. Items are rebuilt with
 * a separate seed: the lengths are the same in distribution, not the exact prompts.
 */
export function baseLengths(
  entries: readonly PlanEntry[],
  seed: number,
  texts: ProbeTexts = PUBLIC_PROBE_TEXTS,
): number[] {
  const out: number[] = [];
  for (const entry of entries) {
    const rng = createRng(deriveSeed(seed, "base-length", entry.key));
    if (entry.kind === "item") {
      const request = buildItem(entry.task, entry.docIndex, rng);
      out.push(
        request.kind === "loglikelihood"
          ? letterPrompt(
              request.context,
              request.continuations,
              texts.letterInstruction(rng, request.continuations.length),
              false,
            ).length
          : prose(entry.task, request.prompt).length,
      );
    } else if (entry.kind === "fingerprint" || entry.kind === "identity" || entry.kind === "speed") {
      out.push(texts.openingPrompt(rng).length);
    }
  }
  return out.sort((a, b) => a - b);
}
