import type { RelayUsage } from "@pocket-ai/protocol";

/** The detail objects of OpenAI's usage, each held to the total it details. */
const DETAILS = [
  ["prompt_tokens_details", "inputTokens"],
  ["completion_tokens_details", "outputTokens"],
] as const;

/**
 * The OpenAI `usage` a client reads for a relay: the tokens the gateway counted and charges
 * (`counted`, the node's signed usage believed up to the gateway's own count), never the node's
 * own figures. `prompt_tokens`, `completion_tokens` (not for embeddings, whose usage has none) and
 * `total_tokens` are the counted ones; of what the node sent (`sent`), only the detail objects
 * (`prompt_tokens_details`, `completion_tokens_details`) stay, their counts held to the total they
 * detail and anything else in them dropped. Other members the node added are dropped: no figure
 * reaches the client that the gateway did not count.
 *
 * @example
 * ```ts
 * countedUsage(
 *   { prompt_tokens: 900, completion_tokens: 9, total_tokens: 909, prompt_tokens_details: { cached_tokens: 900 } },
 *   { inputTokens: 12, outputTokens: 9 },
 * ); // { prompt_tokens: 12, completion_tokens: 9, total_tokens: 21, prompt_tokens_details: { cached_tokens: 12 } }
 * ```
 */
export function countedUsage(
  sent: unknown,
  counted: RelayUsage,
  embeddings = false,
): Record<string, unknown> {
  const usage: Record<string, unknown> = embeddings
    ? { prompt_tokens: counted.inputTokens, total_tokens: counted.inputTokens + counted.outputTokens }
    : {
        prompt_tokens: counted.inputTokens,
        completion_tokens: counted.outputTokens,
        total_tokens: counted.inputTokens + counted.outputTokens,
      };
  if (typeof sent !== "object" || sent === null) return usage;
  for (const [name, total] of DETAILS) {
    const details = (sent as Record<string, unknown>)[name];
    if (details === null) usage[name] = null;
    else if (typeof details === "object" && !Array.isArray(details))
      usage[name] = heldTo(details as Record<string, unknown>, counted[total]);
  }
  return usage;
}

/** The counts of a detail object, none above `most`; members that are no count are dropped. */
function heldTo(details: Record<string, unknown>, most: number): Record<string, number> {
  const held: Record<string, number> = {};
  for (const [key, value] of Object.entries(details))
    if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0)
      held[key] = Math.min(value, most);
  return held;
}
