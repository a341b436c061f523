import type { StreamPiece } from "../backends/backend.js";

/**
 * The most engine pieces one streamed chunk carries. A chunk costs the node a chain step, an
 * encoding and a write, and the gateway a check and an event, whatever it holds: pieces that
 * arrived together (an engine's burst, or a backlog while the gateway or its client reads slower
 * than the engine writes) go out as one, so a relay's cost per token falls as its load rises.
 */
export const MAX_FOLDED_PIECES = 64;

/** Chunk fields a folded piece may carry: its metadata, which the chunk it joins already has. */
const CHUNK_KEYS = new Set(["id", "object", "created", "model", "system_fingerprint", "choices", "usage"]);
/** Choice fields a folded piece may carry, every one but its text empty (`null`). */
const CHOICE_KEYS = new Set(["index", "delta", "text", "finish_reason", "logprobs", "stop_reason"]);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const isAbsent = (value: unknown) => value === undefined || value === null;

/** The one choice of a piece that is text and nothing else (no finish, logprobs or usage). */
function plainChoice(piece: StreamPiece): Record<string, unknown> | undefined {
  if (!isAbsent(piece.usage)) return undefined;
  const choices = piece.choices;
  if (!Array.isArray(choices) || choices.length !== 1) return undefined;
  const choice: unknown = choices[0];
  if (!isRecord(choice) || typeof choice.index !== "number") return undefined;
  if (!isAbsent(choice.finish_reason) || !isAbsent(choice.logprobs) || !isAbsent(choice.stop_reason))
    return undefined;
  return choice;
}

/** A chat delta's text, when the delta holds nothing else (a `role` only where `first`). */
function deltaText(delta: unknown, first: boolean): string | undefined {
  if (!isRecord(delta)) return undefined;
  for (const key in delta) {
    if (key === "content" || (first && key === "role" && delta.role === "assistant")) continue;
    return undefined;
  }
  const content = delta.content;
  if (first && content === undefined) return "";
  return typeof content === "string" ? content : undefined;
}

/**
 * `chunk` and `piece` as one chunk, when `piece` only continues the text of `chunk`'s one choice:
 * both plain text of the same choice of the same kind (chat deltas or completion texts), nothing
 * finished, no logprobs, no usage, no field the fold would drop. `undefined` otherwise: the piece
 * then goes out in a chunk of its own. The text delivered is the same either way, in the same
 * order; only how it is cut into events differs, as it may between any two engine runs.
 */
export function foldPiece(chunk: StreamPiece, piece: StreamPiece): StreamPiece | undefined {
  if (chunk.object !== piece.object) return undefined;
  for (const key in piece) if (!CHUNK_KEYS.has(key)) return undefined;
  const into = plainChoice(chunk);
  const more = plainChoice(piece);
  if (into === undefined || more === undefined || into.index !== more.index) return undefined;
  for (const key in more) if (!CHOICE_KEYS.has(key)) return undefined;
  if (chunk.object === "chat.completion.chunk") {
    if (more.text !== undefined) return undefined;
    const before = deltaText(into.delta, true);
    const after = deltaText(more.delta, false);
    if (before === undefined || after === undefined) return undefined;
    const delta = { ...(into.delta as Record<string, unknown>), content: before + after };
    return { ...chunk, choices: [{ ...into, delta }] };
  }
  if (chunk.object === "text_completion") {
    if (more.delta !== undefined || typeof into.text !== "string" || typeof more.text !== "string")
      return undefined;
    return { ...chunk, choices: [{ ...into, text: into.text + more.text }] };
  }
  return undefined;
}
