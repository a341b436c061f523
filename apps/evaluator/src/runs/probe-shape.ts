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

/** A prompt length (characters and lines) drawn from the mix's length buckets; undefined when it has none. */
export function drawPromptChars(
  mix: TrafficMix,
  rng: Rng,
): { readonly chars: number; readonly lines: number } | undefined {
  const buckets = mix.promptChars ?? [];
  const total = buckets.reduce((sum, b) => sum + b.count, 0);
  if (total <= 0) return undefined;
  let at = rng.next() * total;
  const within = (upTo: number) => (upTo <= 1 ? 1 : Math.floor(upTo / 2) + 1 + rng.int(Math.ceil(upTo / 2)));
  for (const b of buckets) {
    at -= b.count;
    if (at < 0) return { chars: within(b.upTo), lines: within(b.linesUpTo) };
  }
  return undefined;
}

/** Text services take at most 200 input tokens: padding stops well before that. */
const MAX_PADDED_CHARS = 760;

/** The last message's text (chat) or the prompt (completions), and a body with it replaced. */
function lastText(body: Record<string, unknown>): {
  text: string;
  put: (text: string) => Record<string, unknown>;
} {
  if (body.messages === undefined) {
    return { text: String(body.prompt), put: (text) => ({ ...body, prompt: text }) };
  }
  const messages = [...(body.messages as { role: string; content: string }[])];
  const last = messages[messages.length - 1]!;
  return {
    text: last.content,
    put: (text) => {
      messages[messages.length - 1] = { ...last, content: text };
      return { ...body, messages };
    },
  };
}

const operationOf = (body: Record<string, unknown>) =>
  body.messages === undefined ? ("completions" as const) : ("chat.completions" as const);

/**
 * Shapes a probe's prompt like a customer's of a drawn length: solved examples (`example()`:
 * undefined when there are no more) are put before it until it is about `target.chars` long (few-
 * shot examples, as lm-evaluation-harness adds them), then, where line breaks carry no meaning
 * (`prose`), its lines are joined or split at sentence ends toward `target.lines`.
 */
export function padPrompt(
  body: Record<string, unknown>,
  target: { readonly chars: number; readonly lines: number } | undefined,
  example: () => string | undefined,
  prose = true,
): Record<string, unknown> {
  if (target === undefined) return body;
  let out = body;
  for (let i = 0; i < 8; i++) {
    const chars = promptCharsOf(operationOf(out), out).chars;
    if (chars >= target.chars) break;
    const shot = example();
    const whole = JSON.stringify(out.messages ?? out.prompt).length;
    if (shot === undefined || whole + shot.length + 1 > MAX_PADDED_CHARS) break;
    const last = lastText(out);
    out = last.put(`${shot}\n${last.text}`);
  }
  return prose ? reflow(out, target.lines) : out;
}

/** Joins the earliest line breaks of the last message, or breaks it after sentence ends, toward `lines`. */
function reflow(body: Record<string, unknown>, lines: number): Record<string, unknown> {
  const total = promptCharsOf(operationOf(body), body).lines;
  const last = lastText(body);
  let text = last.text;
  let delta = total - lines;
  while (delta > 0 && text.includes("\n")) {
    text = text.replace(/\s*\n\s*/, " ");
    delta -= 1;
  }
  while (delta < 0) {
    const at = text.search(/[.?!:;] (?=\S)/);
    if (at < 0) break;
    text = `${text.slice(0, at + 1)}\n${text.slice(at + 2)}`;
    delta += 1;
  }
  return last.put(text);
}

/** `padPrompt` for a bare prompt text (identity probes, whose node and reference samples share it). */
export function padText(
  prompt: string,
  mix: TrafficMix | undefined,
  rng: Rng,
  example: () => string | undefined,
): string {
  if (mix === undefined) return prompt;
  return String(padPrompt({ prompt }, drawPromptChars(mix, rng), example).prompt);
}
