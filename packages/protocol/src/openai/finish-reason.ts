import type { FinishReason } from "./common-fields.js";

/**
 * Engine spellings of the four OpenAI reasons: TGI, llama.cpp, Ollama, older vLLM and others. A
 * Map, as the key is an engine's (or a node's) text: `constructor` or `__proto__` is no entry.
 */
const ENGINE_FINISH_REASONS: ReadonlyMap<string, FinishReason> = new Map([
  ["stop", "stop"],
  ["length", "length"],
  ["content_filter", "content_filter"],
  ["tool_calls", "tool_calls"],
  ["function_call", "tool_calls"],
  ["eos_token", "stop"],
  ["eos", "stop"],
  ["stop_sequence", "stop"],
  ["stop_token", "stop"],
  ["end_turn", "stop"],
  ["max_tokens", "length"],
  ["max_length", "length"],
  ["max_new_tokens", "length"],
  ["model_length", "length"],
  ["tool_use", "tool_calls"],
]);

/**
 * One engine's `finish_reason` in OpenAI's vocabulary: the four OpenAI values as they are, the
 * engines' own spellings mapped to their meaning (TGI's `eos_token` → `stop`, `max_tokens` →
 * `length`, `function_call` → `tool_calls`...), `null` and absent as `null` (a stream's open
 * choice), and any other string as `stop` — an unknown word from an engine ended the choice, and
 * it must never make an honest node's answer fail a schema check.
 *
 * @example
 * ```ts
 * normalizeFinishReason("eos_token"); // "stop"
 * normalizeFinishReason("max_tokens"); // "length"
 * normalizeFinishReason(null); // null
 * ```
 */
export function normalizeFinishReason(raw: unknown): FinishReason | null {
  if (raw === null || raw === undefined) return null;
  if (typeof raw !== "string") return "stop";
  return ENGINE_FINISH_REASONS.get(raw.trim().toLowerCase()) ?? "stop";
}

/**
 * A completion or chat answer (or stream chunk) with every choice's `finish_reason` normalised by
 * {@link normalizeFinishReason}; the same object when nothing changes, else a shallow copy.
 *
 * @example
 * ```ts
 * normalizeFinishReasons({ choices: [{ index: 0, text: "Hi", finish_reason: "eos_token" }] });
 * // { choices: [{ index: 0, text: "Hi", finish_reason: "stop" }] }
 * ```
 */
export function normalizeFinishReasons<T>(payload: T): T {
  if (typeof payload !== "object" || payload === null) return payload;
  const choices = (payload as { choices?: unknown }).choices;
  if (!Array.isArray(choices)) return payload;
  let changed = false;
  const next = choices.map((choice: unknown) => {
    if (typeof choice !== "object" || choice === null || !("finish_reason" in choice)) return choice;
    const raw = (choice as { finish_reason?: unknown }).finish_reason;
    const normal = normalizeFinishReason(raw);
    if (normal === raw) return choice;
    changed = true;
    return { ...choice, finish_reason: normal };
  });
  return changed ? ({ ...payload, choices: next } as T) : payload;
}
