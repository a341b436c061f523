import { promptCharsOf, type TrafficMix, type TrafficShape } from "@pocket-ai/protocol";
import { type ProbeTexts, PUBLIC_PROBE_TEXTS } from "../probe-text/probe-texts.js";
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
  /**
   * The run's own prompt lengths before shaping, sorted (`baseLengths`): a probe is given the
   * customer length at its own length's rank among them. Undefined: lengths are drawn at random.
   */
  readonly bases?: readonly number[] | undefined;
  /** The pools system messages and letter instructions are drawn from (public defaults when unset). */
  readonly texts?: ProbeTexts | undefined;
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
  if (shape.seed) fields.seed = customerSeed(rng);
  if (shape.logprobs) fields.logprobs = shape.operation === "completions" ? 1 : true;
  if (shape.echo) fields.echo = true;
  // Customers' stop sequences vary; a paragraph break is the common one and ends no short answer.
  if (shape.stop) fields.stop = ["\n\n"];
  return fields;
}

/** Seeds people write by hand: what most seeded requests carry. */
const HAND_SEEDS = [
  42, 0, 1, 7, 123, 1234, 12345, 2024, 2025, 3407, 31337, 99, 100, 1000, 2, 3, 5, 10, 13, 21,
];

/**
 * A seed as customers send one: mostly a hand-written constant or a small number, sometimes a
 * large random one. A uniform 31-bit draw on every probe would set probes apart from customers
 * who send 42.
 */
export function customerSeed(rng: Rng): number {
  const draw = rng.next();
  if (draw < 0.5) return HAND_SEEDS[rng.int(HAND_SEEDS.length)]!;
  if (draw < 0.8) return rng.int(10_000);
  return rng.int(2 ** 31);
}

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
  options: {
    readonly extra?: Record<string, unknown>;
    readonly history?: History | undefined;
    /** The system message's length (a short one when unset). */
    readonly systemChars?: number | undefined;
    readonly texts?: ProbeTexts | undefined;
  } = {},
): Record<string, unknown> {
  const { extra = {}, history, systemChars, texts = PUBLIC_PROBE_TEXTS } = options;
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
    ...(shape.system ? [{ role: "system", content: texts.systemMessage(rng, systemChars) }] : []),
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

/** A probe's prompt length target: the prompt (or last message), its lines, and a chat's earlier messages. */
export interface LengthTarget {
  readonly chars: number;
  readonly lines: number;
  /** Characters of the system message and earlier turns (0: none). */
  readonly context: number;
}

/** The rank of `base` among the sorted `bases` as a fraction in [0, 1), ties spread at random. */
function rankOf(bases: readonly number[], base: number, rng: Rng): number {
  let below = 0;
  let upTo = 0;
  for (const b of bases) {
    if (b < base) below += 1;
    if (b <= base) upTo += 1;
  }
  const lo = below / bases.length;
  const hi = Math.max(lo, upTo / bases.length);
  return Math.min(0.999999, lo + rng.next() * (hi - lo || 1 / bases.length));
}

/**
 * A prompt length drawn from the mix's length buckets of requests like `shape` (the same
 * operation and echo, earlier messages when it has a system message or turns, none otherwise;
 * with `turnsChars` of earlier turns already there, earlier messages at least that long; any bucket
 * when no shape is given); undefined when the mix has none.
 *
 * With the run's own lengths (`covert.bases`) the draw is a quantile match: a probe whose own
 * prompt is `base` characters long gets the customer length at the same rank, so the run's
 * shortest prompts become customers' short ones and its longest their long ones. Padding only
 * lengthens a prompt; a draw independent of `base` would make every probe at least as long as its
 * item and the probes as a whole longer than customers' prompts. Within a power-of-two bucket
 * the length is spread evenly on a log scale.
 */
export function drawPromptLength(
  covert: CovertContext,
  rng: Rng,
  base: number,
  shape?: TrafficShape,
  turnsChars = 0,
): LengthTarget | undefined {
  const all = covert.mix.promptChars ?? [];
  const least = turnsChars > 0 ? 2 ** Math.max(3, Math.ceil(Math.log2(turnsChars))) : 0;
  const context = shape === undefined ? undefined : hasContext(shape);
  const sameContext =
    context === undefined
      ? all
      : all.filter((b) => (b.contextUpTo ?? 0) > 0 === context && (b.contextUpTo ?? 0) >= least);
  const sameRequest =
    shape === undefined
      ? sameContext
      : sameContext.filter(
          (b) =>
            (b.operation === undefined || b.operation === shape.operation) &&
            (b.echo === undefined || b.echo === shape.echo),
        );
  const buckets = sameRequest.length > 0 ? sameRequest : sameContext.length > 0 ? sameContext : all;
  const total = buckets.reduce((sum, b) => sum + b.count, 0);
  if (total <= 0) return undefined;
  const byChars = new Map<number, number>();
  for (const b of buckets) byChars.set(b.upTo, (byChars.get(b.upTo) ?? 0) + b.count);
  const sizes = [...byChars.keys()].sort((a, b) => a - b);
  const u =
    covert.bases !== undefined && covert.bases.length > 0 ? rankOf(covert.bases, base, rng) : rng.next();
  let at = u * total;
  let upTo = sizes[sizes.length - 1]!;
  let within = 1;
  for (const size of sizes) {
    const count = byChars.get(size)!;
    if (at < count) {
      upTo = size;
      within = at / count;
      break;
    }
    at -= count;
  }
  const logWithin = (top: number, f: number) => Math.max(1, Math.round((top / 2) * 2 ** f));
  const chars = logWithin(upTo, within);
  // Lines and earlier messages: drawn among the chosen length's buckets in proportion.
  const same = buckets.filter((b) => b.upTo === upTo);
  let pick = rng.next() * same.reduce((sum, b) => sum + b.count, 0);
  let chosen = same[same.length - 1]!;
  for (const b of same) {
    pick -= b.count;
    if (pick < 0) {
      chosen = b;
      break;
    }
  }
  const lines =
    chosen.linesUpTo <= 1
      ? 1
      : Math.floor(chosen.linesUpTo / 2) + 1 + rng.int(Math.ceil(chosen.linesUpTo / 2));
  const contextUpTo = chosen.contextUpTo ?? 0;
  return { chars, lines, context: contextUpTo === 0 ? 0 : logWithin(contextUpTo, rng.next()) };
}

/** The characters of a chat body's earlier turns (not its system message nor its last message). */
export function turnsCharsOf(body: Record<string, unknown>): number {
  const messages = body.messages as { role: string; content: string }[] | undefined;
  if (messages === undefined) return 0;
  return messages
    .slice(0, -1)
    .filter((m) => m.role !== "system")
    .reduce((sum, m) => sum + String(m.content).length, 0);
}

/** Whether a shape's chat requests carry earlier messages (a system message or earlier turns). */
export const hasContext = (shape: TrafficShape) =>
  shape.operation === "chat.completions" && (shape.system || shape.turns > 0);

/**
 * Text services take at most 200 input tokens: a padded request stays within 780 characters of
 * message text, as customers' clients trim to (about four characters a token), and within 195
 * tokens by a rough count that takes every digit as a token of its own (arithmetic examples are
 * dense in tokens) and other text at four characters a token.
 */
const MAX_PADDED_CHARS = 780;
const MAX_PADDED_TOKENS = 195;

/** The message texts of a body (a chat's every message, or the prompt). */
const textsOf = (body: Record<string, unknown>): string[] =>
  body.messages === undefined
    ? [String(body.prompt)]
    : (body.messages as { content: string }[]).map((m) => String(m.content));

/** A rough token count: each digit one token, other characters four to a token. */
function roughTokens(text: string): number {
  const digits = text.replace(/\D/g, "").length;
  return digits + Math.ceil((text.length - digits) / 4);
}

/** The end of `shot` that still fits before the prompt (at least 16 characters), or undefined. */
function trimmedToFit(body: Record<string, unknown>, shot: string): string | undefined {
  let lo = 0;
  let hi = shot.length;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (fitsInput(body, shot.slice(shot.length - mid - 1))) lo = mid + 1;
    else hi = mid;
  }
  return lo >= 16 ? shot.slice(shot.length - lo) : undefined;
}

/** Whether `shot`, put before the prompt, still fits the input limit. */
function fitsInput(body: Record<string, unknown>, shot: string): boolean {
  const texts = textsOf(body);
  const chars = texts.reduce((s, t) => s + t.length, 0) + shot.length + 1;
  return chars <= MAX_PADDED_CHARS && roughTokens(`${texts.join(" ")} ${shot}`) <= MAX_PADDED_TOKENS;
}

/** The last message's text (chat) or the prompt (completions), and a body with it replaced. */
function lastText(body: Record<string, unknown>): ReturnType<Access> {
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

/** Candidate examples weighed for each step: the one that brings the length closest is put in. */
const SHOT_CANDIDATES = 4;

/**
 * Shapes a probe's prompt like a customer's of a drawn length: solved examples (`example()`:
 * undefined when there are no more) are put before it, each the one of a few candidates that
 * brings the length closest to `target.chars` (on a log scale, as long as one brings it closer),
 * so lengths land around their targets rather than always above or below (few-shot examples, as
 * lm-evaluation-harness adds them); where line breaks carry no meaning (`prose`), its lines are
 * joined or split at sentence ends toward `target.lines`; a chat's system message is resized
 * (with `rng`) so that the earlier messages come to about `target.context` characters. Only text
 * before the prompt changes: the question, its choices and its instruction stay as they are.
 */
export function padPrompt(
  body: Record<string, unknown>,
  target: LengthTarget | undefined,
  example: () => string | undefined,
  prose = true,
  rng?: Rng,
  texts: ProbeTexts = PUBLIC_PROBE_TEXTS,
): Record<string, unknown> {
  if (target === undefined) return body;
  let out = rng === undefined ? body : resizeSystem(body, target.context, rng, texts);
  out = grow(out, lastText, (b) => promptCharsOf(operationOf(b), b).chars, target.chars, example);
  // Earlier turns short of the drawn earlier-message length: examples go before the first one.
  if (target.context > 0 && turnsCharsOf(out) > 0)
    out = grow(out, firstTurn, (b) => promptCharsOf(operationOf(b), b).contextChars, target.context, example);
  return prose ? reflow(out, target.lines) : out;
}

/** A message's text and a body with it replaced. */
type Access = (body: Record<string, unknown>) => {
  text: string;
  put: (text: string) => Record<string, unknown>;
};

/** The first earlier turn of a chat (after the system message). */
const firstTurn: Access = (body) => {
  const messages = [...(body.messages as { role: string; content: string }[])];
  const at = messages[0]?.role === "system" ? 1 : 0;
  const turn = messages[at]!;
  return {
    text: turn.content,
    put: (text) => {
      messages[at] = { ...turn, content: text };
      return { ...body, messages };
    },
  };
};

/**
 * Puts examples before one message's text while that brings `measure` closer to `goal` (on a
 * log scale), each the closest of a few candidates; at the input limit, the end of one.
 */
function grow(
  body: Record<string, unknown>,
  at: Access,
  measure: (body: Record<string, unknown>) => number,
  goal: number,
  example: () => string | undefined,
): Record<string, unknown> {
  const off = (chars: number) => Math.abs(Math.log(Math.max(chars, 1) / Math.max(goal, 1)));
  let out = body;
  for (let i = 0; i < 8; i++) {
    const chars = measure(out);
    if (chars >= goal) break;
    let best: string | undefined;
    let over: string | undefined;
    for (let k = 0; k < SHOT_CANDIDATES; k++) {
      const shot = example();
      if (shot === undefined) break;
      if (!fitsInput(out, shot)) over = shot;
      else if (off(chars + shot.length + 1) < off(chars + (best?.length ?? -1) + 1)) best = shot;
    }
    // Nothing fits, the text is still short of its length and the request is at its input limit:
    // the example's beginning is cut off, as clients trim the oldest text of a long prompt.
    if (best === undefined && over !== undefined) best = trimmedToFit(out, over);
    if (best === undefined || off(chars + best.length + 1) >= off(chars)) break;
    const message = at(out);
    out = message.put(`${best}\n${message.text}`);
  }
  return out;
}

/** A chat's system message rewritten so the earlier messages total about `context` characters. */
function resizeSystem(
  body: Record<string, unknown>,
  context: number,
  rng: Rng,
  texts: ProbeTexts,
): Record<string, unknown> {
  const messages = body.messages as { role: string; content: string }[] | undefined;
  if (messages === undefined || messages.length < 2 || messages[0]?.role !== "system" || context <= 0)
    return body;
  const turns = messages.slice(1, -1).reduce((sum, m) => sum + m.content.length, 0);
  const content = texts.systemMessage(rng, Math.max(context - turns, 0));
  return { ...body, messages: [{ ...messages[0], content }, ...messages.slice(1)] };
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
  covert: CovertContext | undefined,
  rng: Rng,
  example: () => string | undefined,
  shape?: TrafficShape,
): { readonly prompt: string; readonly target: LengthTarget | undefined } {
  if (covert === undefined) return { prompt, target: undefined };
  const target = drawPromptLength(covert, rng, prompt.length, shape);
  return { prompt: String(padPrompt({ prompt }, target, example).prompt), target };
}
