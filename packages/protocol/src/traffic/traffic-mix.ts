import { z } from "zod";

/**
 * The request shape of one text relay, as far as it can be told without reading the prompt:
 * operation, streaming, echo and logprobs, the sampling parameters (rounded) and whether a seed,
 * a system message or stop sequences were sent. A gateway counts the shapes of its customers'
 * relays (never prompts or outputs) so that evaluator probes can be sent in the same shapes.
 *
 * @example
 * const shape = TrafficShape.parse({
 *   operation: "chat.completions", stream: true, echo: false, logprobs: false,
 *   temperature: 0.7, topP: null, maxTokens: 512, seed: false, system: true, turns: 2, stop: false,
 * });
 */
export const TrafficShape = z.object({
  operation: z.enum(["completions", "chat.completions"]),
  stream: z.boolean(),
  /** Completions with `echo` (the prompt's log-probabilities come back when `logprobs` is set). */
  echo: z.boolean(),
  /** Token log-probabilities asked for (completions `logprobs`, chat `logprobs: true`). */
  logprobs: z.boolean(),
  /** Rounded to 0.05; null when the field was not sent. */
  temperature: z.number().min(0).max(2).nullable(),
  /** Rounded to 0.05; null when the field was not sent. */
  topP: z.number().min(0).max(1).nullable(),
  /** As sent (after the tier's clamp); null when the field was not sent. */
  maxTokens: z.number().int().positive().nullable(),
  seed: z.boolean(),
  /** Chat requests that open with a system message. */
  system: z.boolean(),
  /** Chat requests: earlier messages of the conversation (besides the system message), capped at 8. */
  turns: z.number().int().min(0).max(8),
  stop: z.boolean(),
});
export type TrafficShape = z.infer<typeof TrafficShape>;

/**
 * Aggregate counts of customer request shapes over recent traffic (older traffic decays). Shapes
 * seen fewer than `minCount` times are left out, so a rare shape cannot point at one customer.
 *
 * @example
 * ```ts
 * const mix: TrafficMix = { total: 0, shapes: [], promptChars: [] }; // no customer traffic yet
 * ```
 */
export const TrafficMix = z.object({
  /** Relays counted (decayed), including those of shapes left out. */
  total: z.number().nonnegative(),
  shapes: z.array(z.object({ shape: TrafficShape, count: z.number().positive() })),
  /**
   * Prompt lengths in characters (the prompt, or a chat's last message), in power-of-two
   * buckets: relays of at most `upTo` characters and more than half of it. A length, never the text.
   */
  promptChars: z
    .array(
      z.object({
        upTo: z.number().int().positive(),
        /** Lines of the prompt (or last message), in power-of-two buckets likewise. */
        linesUpTo: z.number().int().positive().default(1),
        /**
         * A chat's earlier messages (the system message and earlier turns) in characters, in
         * power-of-two buckets likewise; 0 when there are none (and for completions).
         */
        contextUpTo: z.number().int().nonnegative().default(0),
        /** The relays' operation, and whether they were `echo` completions (absent: not told apart). */
        operation: z.enum(["completions", "chat.completions"]).optional(),
        echo: z.boolean().optional(),
        count: z.number().positive(),
      }),
    )
    .default([]),
});
export type TrafficMix = z.infer<typeof TrafficMix>;

/** Where a gateway serves its traffic mix to evaluator keys, under its `/v1` base URL. */
export const TRAFFIC_MIX_PATH = "/pocket/traffic-mix";

/**
 * The prompt's length in characters and lines as `TrafficMix.promptChars` counts them (a chat's
 * last message), the characters of a chat's earlier messages (system message and earlier turns),
 * and their buckets (powers of two; no earlier message is bucket 0).
 *
 * @example
 * promptCharsOf("completions", { prompt: "Hello" }); // { chars: 5, upTo: 8, lines: 1, linesUpTo: 1, contextChars: 0, contextUpTo: 0 }
 */
export function promptCharsOf(
  operation: "completions" | "chat.completions",
  body: Readonly<Record<string, unknown>>,
): {
  readonly chars: number;
  readonly upTo: number;
  readonly lines: number;
  readonly linesUpTo: number;
  readonly contextChars: number;
  readonly contextUpTo: number;
} {
  const parts = (v: unknown): string[] =>
    typeof v === "string" ? [v] : Array.isArray(v) ? v.flatMap((x) => parts(x)) : [];
  const messages = Array.isArray(body.messages) ? (body.messages as { content?: unknown }[]) : [];
  const texts =
    operation === "completions" ? parts(body.prompt) : parts(messages[messages.length - 1]?.content);
  const chars = texts.reduce((s, t) => s + t.length, 0);
  const lines = texts.reduce((s, t) => s + t.split("\n").length, 0);
  const bucket = (n: number, least: number) => 2 ** Math.max(least, Math.ceil(Math.log2(Math.max(1, n))));
  const earlier = operation === "completions" ? [] : messages.slice(0, -1).flatMap((m) => parts(m.content));
  const contextChars = earlier.reduce((s, t) => s + t.length, 0);
  return {
    chars,
    upTo: bucket(chars, 3),
    lines,
    linesUpTo: bucket(lines, 0),
    contextChars,
    contextUpTo: earlier.length === 0 ? 0 : bucket(contextChars, 3),
  };
}

const round = (value: number, step: number) => Math.round(value / step) * step;
const roundTo = (value: number, step: number, min: number, max: number) =>
  Math.min(max, Math.max(min, Number(round(value, step).toFixed(2))));

/**
 * The shape of a validated text request body (`completions` or `chat.completions`).
 *
 * @example
 * trafficShapeOf("completions", { prompt: "x", echo: true, logprobs: 1, max_tokens: 1, temperature: 0 }).echo; // true
 */
export function trafficShapeOf(
  operation: "completions" | "chat.completions",
  body: Readonly<Record<string, unknown>>,
): TrafficShape {
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);
  const temperature = num(body.temperature);
  const topP = num(body.top_p);
  const maxTokens = num(body.max_tokens) ?? num(body.max_completion_tokens);
  const messages = Array.isArray(body.messages) ? (body.messages as { role?: unknown }[]) : [];
  const stop = body.stop;
  const system = operation === "chat.completions" && messages[0]?.role === "system";
  return {
    operation,
    stream: body.stream === true,
    echo: operation === "completions" && body.echo === true,
    logprobs:
      operation === "completions"
        ? body.logprobs !== undefined && body.logprobs !== null
        : body.logprobs === true,
    temperature: temperature === null ? null : roundTo(temperature, 0.05, 0, 2),
    topP: topP === null ? null : roundTo(topP, 0.05, 0, 1),
    maxTokens: maxTokens === null || maxTokens < 1 ? null : Math.floor(maxTokens),
    seed: num(body.seed) !== null,
    system,
    turns:
      operation === "chat.completions" ? Math.min(8, Math.max(0, messages.length - 1 - (system ? 1 : 0))) : 0,
    stop: (typeof stop === "string" && stop !== "") || (Array.isArray(stop) && stop.length > 0),
  };
}

/** A stable key of a shape, for counting. */
export function trafficShapeKey(shape: TrafficShape): string {
  return [
    shape.operation,
    shape.stream,
    shape.echo,
    shape.logprobs,
    shape.temperature,
    shape.topP,
    shape.maxTokens,
    shape.seed,
    shape.system,
    shape.turns,
    shape.stop,
  ].join("|");
}
