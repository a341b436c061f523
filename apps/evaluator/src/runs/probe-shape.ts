import { promptCharsOf, type TrafficMix, type TrafficShape } from "@pocket-ai/protocol";
import type { Rng } from "./rng.js";

/**
 * Fewer customer relays than this in the gateway's mix: there is no customer traffic to blend
 * into, and probes keep their measuring shapes (echo for multiple choice, low temperatures).
 */
export const MIN_MIX_RELAYS = 50;

/** The customer traffic a run's probes imitate, and what the node was seen to support. */
export interface CovertContext {
  readonly mix: TrafficMix;
  /** False once the node refused prompt log-probabilities: echo shapes are not sent to it. */
  readonly echo: () => boolean;
}

/** The mix when it holds enough customer traffic to imitate, else undefined. */
export function usableMix(mix: TrafficMix | undefined): TrafficMix | undefined {
  return mix !== undefined && mix.total >= MIN_MIX_RELAYS && mix.shapes.length > 0 ? mix : undefined;
}

/**
 * One customer request shape drawn in proportion to its count, among those `accept` allows (all
 * of them when none is allowed: a probe never invents a shape customers do not send).
 */
export function drawShape(
  mix: TrafficMix,
  rng: Rng,
  accept: (shape: TrafficShape) => boolean = () => true,
): TrafficShape {
  const fitting = mix.shapes.filter((e) => accept(e.shape));
  const pool = fitting.length > 0 ? fitting : mix.shapes;
  const total = pool.reduce((sum, e) => sum + e.count, 0);
  let at = rng.next() * total;
  for (const entry of pool) {
    at -= entry.count;
    if (at < 0) return entry.shape;
  }
  return pool[pool.length - 1]!.shape;
}

/**
 * The body fields a shape sets besides the prompt: sampling parameters as customers send them
 * (absent when they leave them out), a seed when they send one, logprobs when they ask for them.
 */
export function shapeFields(shape: TrafficShape, rng: Rng): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  if (shape.temperature !== null) fields.temperature = shape.temperature;
  if (shape.topP !== null) fields.top_p = shape.topP;
  if (shape.maxTokens !== null) fields.max_tokens = shape.maxTokens;
  if (shape.seed) fields.seed = rng.int(2 ** 31);
  if (shape.logprobs) fields.logprobs = shape.operation === "completions" ? 1 : true;
  if (shape.echo) fields.echo = true;
  // Customers' stop sequences vary; a paragraph break is the common one and ends no short answer.
  if (shape.stop) fields.stop = ["\n\n"];
  return fields;
}

/** General-purpose system prompts, for shapes whose chat requests open with one. */
const SYSTEM_PROMPTS = [
  "You are a helpful assistant.",
  "You are a concise, accurate assistant. Answer the user's question.",
  "You are an AI assistant. Be brief and correct.",
  "Answer as accurately as you can.",
  "You are a knowledgeable assistant who answers questions directly.",
];

/** Earlier exchanges of a conversation, for chat shapes with `turns` (few-shot examples as turns). */
export type History = (exchanges: number) => readonly { readonly user: string; readonly assistant: string }[];

/**
 * The request body of a prompt in a shape: a completions prompt, or a chat message list with the
 * shape's system message and `turns` earlier messages (from `history`: solved examples of the same
 * task, as customers' conversations carry earlier exchanges).
 */
export function shapedBody(
  shape: TrafficShape,
  model: string,
  prompt: string,
  rng: Rng,
  extra: Record<string, unknown> = {},
  history?: History,
): Record<string, unknown> {
  const fields = { ...shapeFields(shape, rng), ...extra };
  if (shape.operation === "completions") return { model, prompt, ...fields };
  const { echo: _, ...chat } = fields;
  const earlier =
    history === undefined || shape.turns === 0
      ? []
      : history(Math.ceil(shape.turns / 2))
          .flatMap((e) => [
            { role: "user", content: e.user },
            { role: "assistant", content: e.assistant },
          ])
          .slice(-shape.turns);
  const messages = [
    ...(shape.system ? [{ role: "system", content: rng.pick(SYSTEM_PROMPTS) }] : []),
    ...earlier,
    { role: "user", content: prompt },
  ];
  return { model, messages, ...chat };
}

/**
 * The wait before a probe so that a node sees probes arrive as a Poisson stream at `perSecond`
 * (exponential gaps), as independent customers' requests do, not in a token bucket's even beat.
 */
export function probeGapMs(rng: Rng, perSecond: number): number {
  return (-Math.log(1 - rng.next()) / Math.max(perSecond, 1e-6)) * 1000;
}

/** A prompt length (characters) drawn from the mix's length buckets; undefined when it has none. */
export function drawPromptChars(mix: TrafficMix, rng: Rng): number | undefined {
  const buckets = mix.promptChars ?? [];
  const total = buckets.reduce((sum, b) => sum + b.count, 0);
  if (total <= 0) return undefined;
  let at = rng.next() * total;
  for (const b of buckets) {
    at -= b.count;
    if (at < 0) return Math.round(b.upTo / 2 + rng.next() * (b.upTo / 2));
  }
  return undefined;
}

/** Text services take at most 200 input tokens: padding stops well before that. */
const MAX_PADDED_CHARS = 760;

/**
 * Solved examples (`example()`: undefined when there are no more) put before the prompt, each
 * followed by `separator`, until the request is about `target` characters long, as the length of customers'
 * prompts is drawn (few-shot examples, as lm-evaluation-harness adds them).
 */
export function padPrompt(
  body: Record<string, unknown>,
  target: number | undefined,
  example: () => string | undefined,
  separator = "\n\n",
): Record<string, unknown> {
  if (target === undefined) return body;
  const operation = body.messages === undefined ? "completions" : "chat.completions";
  let out = body;
  for (let i = 0; i < 8; i++) {
    const chars = promptCharsOf(operation, out).chars;
    if (chars >= target) break;
    const shot = example();
    if (shot === undefined || chars + shot.length + 2 > MAX_PADDED_CHARS) break;
    if (operation === "completions") out = { ...out, prompt: `${shot}${separator}${String(out.prompt)}` };
    else {
      const messages = [...(out.messages as { role: string; content: string }[])];
      const last = messages[messages.length - 1]!;
      messages[messages.length - 1] = { ...last, content: `${shot}${separator}${last.content}` };
      out = { ...out, messages };
    }
  }
  return out;
}
