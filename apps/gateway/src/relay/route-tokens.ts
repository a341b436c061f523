import {
  countRelayInput,
  type EmbeddingRequest,
  embeddingInputs,
  HONEST_OUTPUT_SLACK_PER_CHOICE,
  isEmbeddingTier,
  isTextTier,
  MAX_COUNTED_PROMPTS,
  type RelayInputCount,
  type RelayUsage,
  relayInputs,
  relayOutputCap,
  type TextRequestOf,
  type TokenCounter,
  tokensAtLeast,
  tokensAtMost,
  utf8Length,
} from "@pocket-ai/protocol";
import {
  DeliveredText,
  type FamilyTokenizer,
  familyTokenizer,
  type OutputBounds,
  outputBounds,
  prepareFamilyTokenizers,
  type TokenizerFamily,
  tokenizerFamilyOf,
} from "@pocket-ai/tokens";
import type { RegisteredNode } from "../registry/registered-node.js";
import type { Route } from "../routing/route-plan.js";
import type { DispatchRequest } from "./dispatcher.js";
import type { AnswerLimits } from "./relay-envelope.js";

/**
 * How the gateway counts a route's tokens itself. The family is the served model's (as the node
 * declares it, else the service id); `exact` when the node declared it counts with that family's
 * tokenizer — then the gateway's counts are the node's own, and prove what they say.
 */
export interface RouteTokens {
  readonly family: FamilyTokenizer | undefined;
  readonly output: OutputBounds;
  /** Counts input as the node would, when exact; else an upper bound of any tokenizer's count. */
  readonly countInput: TokenCounter;
}

/**
 * Each route's counters: an attempt reads them when it signs, when it checks the answer and when
 * it judges a refusal, and a route (its node, service and tier) does not change once planned.
 */
const routeTokensOf = new WeakMap<Route, RouteTokens>();

export function routeTokens(route: Route): RouteTokens {
  let tokens = routeTokensOf.get(route);
  if (tokens === undefined) {
    tokens = tokensOfRoute(route);
    routeTokensOf.set(route, tokens);
  }
  return tokens;
}

function tokensOfRoute(route: Route): RouteTokens {
  const offer = route.node.offers.get(route.servedServiceId);
  const familyName = offerFamily(route.node, route.servedServiceId);
  const family = familyName === undefined ? undefined : familyTokenizer(familyName);
  const output = outputBounds(offer?.tokenizer, family);
  const exact = output.exact;
  return { family, output, countInput: exact === undefined ? tokensAtMost : exact.countPrompt };
}

/** The tokenizer family the gateway counts a node's offer of a service with, when it has one. */
function offerFamily(node: RegisteredNode, servedServiceId: string): TokenizerFamily | undefined {
  const offer = node.offers.get(servedServiceId);
  return (
    tokenizerFamilyOf(offer?.model.family) ??
    tokenizerFamilyOf(offer?.model.declared) ??
    tokenizerFamilyOf(servedServiceId)
  );
}

/**
 * Builds the token tables (about 0.1 s and 13 MB each) of the families a registered node's offers
 * are counted with, when the node registers rather than in a customer's first relay to it. Only
 * families some node serves are built. Returns the families built by this call.
 */
export function prepareNodeTokenizers(node: RegisteredNode): TokenizerFamily[] {
  const families = [...node.offers.keys()].flatMap((id) => offerFamily(node, id) ?? []);
  return prepareFamilyTokenizers(families);
}

/** Each request's prompt counts by counter: a retry or a hedge counted the same way counts nothing again. */
const promptCountsOf = new WeakMap<DispatchRequest, Map<TokenCounter, readonly number[]>>();

/**
 * Each prompt's input tokens of a text request (by the budget rule's `relayInputs`), as the node
 * would count them (exact) or above any count; empty for other operations. Counted once per request
 * and counter.
 */
export function promptCounts(route: Route, request: DispatchRequest, tokens: RouteTokens): readonly number[] {
  if (!isTextTier(route.servedTier)) return [];
  let byCounter = promptCountsOf.get(request);
  const known = byCounter?.get(tokens.countInput);
  if (known !== undefined) return known;
  const operation = request.operation as "completions" | "chat.completions";
  const inputs = relayInputs(operation, request.body as TextRequestOf<typeof operation>);
  const counts = countRelayInput(inputs, tokens.countInput);
  if (byCounter === undefined) {
    byCounter = new Map();
    promptCountsOf.set(request, byCounter);
  }
  byCounter.set(tokens.countInput, counts);
  return counts;
}

/**
 * Input tokens of a request at most: a text request's as the node would count them (exact) or
 * above any count; an embeddings request's above any count of each input, up to the tier's limit
 * per input (as the front door reserved them). Images have none.
 */
export function inputAtMost(route: Route, request: DispatchRequest, tokens: RouteTokens): number {
  if (request.operation === "embeddings") {
    const tier = route.servedTier;
    const limit = isEmbeddingTier(tier) ? tier.limits.maxTokensPerInput : Number.POSITIVE_INFINITY;
    return embeddingTokensAtMost(embeddingInputs(request.body as Pick<EmbeddingRequest, "input">), limit);
  }
  return promptCounts(route, request, tokens).reduce((a, b) => a + b, 0);
}

/** An embeddings call's input tokens at most: each input above any count of it, up to `limitPerInput`. */
export function embeddingTokensAtMost(inputs: readonly string[], limitPerInput: number): number {
  return inputs.reduce((sum, text) => sum + Math.min(tokensAtMost(text), limitPerInput), 0);
}

/** What a route's served tier falls short of (see {@link servedTierShortfall}). */
export interface TierShortfall {
  /** What the request asks and what the tier allows, with the advice, as the client reads it. */
  readonly what: string;
  /** The request field to change. */
  readonly param: string;
  /** The most the tier takes (output tokens per choice, or input tokens per prompt). */
  readonly available: number;
}

/**
 * Why a route's served tier cannot take a text request as the asked tier admitted it, or
 * `undefined` when it can. A quality or skill relay is served under each qualifying node's own
 * model service and tier, whose limits may be below the quality tier's that `/v1/models` shows:
 * such a node would cut the customer's output short (its tier clamps `max_tokens`) or have to
 * refuse the prompt. The output is compared as each tier clamps the request's `max_tokens` (which
 * the front door always sets); the input by the node's own count when the
 * gateway has its tokenizer, else by a lower bound (words), so only a prompt provably too long is
 * kept from a node.
 */
export function servedTierShortfall(route: Route, request: DispatchRequest): TierShortfall | undefined {
  const served = route.servedTier;
  const asked = request.target.tier;
  if (served === asked || !isTextTier(served) || !isTextTier(asked)) return undefined;
  if (request.operation !== "completions" && request.operation !== "chat.completions") return undefined;
  const operation = request.operation;
  const body = request.body as TextRequestOf<typeof operation>;
  const want = relayOutputCap(operation, body, asked).maxTokens;
  const can = relayOutputCap(operation, body, served).maxTokens;
  // The front door wrote the cap into `max_tokens` (the tier's most when the client set none).
  if (can < want)
    return {
      what: `${want} output tokens per choice: at most ${can} now, ask for less`,
      param: "max_tokens",
      available: can,
    };
  const tokens = routeTokens(route);
  const counts =
    tokens.output.exact === undefined
      ? countRelayInput(relayInputs(operation, body), tokensAtLeast)
      : promptCounts(route, request, tokens);
  const longest = counts.reduce((a, b) => Math.max(a, b), 0);
  const limit = served.limits.maxInputTokens;
  if (longest > limit)
    return {
      what: `a prompt of ${longest} input tokens: at most ${limit} now, shorten it`,
      param: operation === "chat.completions" ? "messages" : "prompt",
      available: limit,
    };
  return undefined;
}

/**
 * The count the gateway signs into a text relay for a node that counts with the same tokenizer
 * family (`RelayRequest.inputCount`): the node may bill and limit by it instead of tokenizing
 * again. `undefined` when the gateway's count is not the node's own (no exact family), for
 * operations without text input, and for batches longer than the protocol lists.
 */
export function signedInputCount(
  route: Route,
  request: DispatchRequest,
  tokens: RouteTokens,
): RelayInputCount | undefined {
  const exact = tokens.output.exact;
  if (exact === undefined || !isTextTier(route.servedTier)) return undefined;
  if (request.operation !== "completions" && request.operation !== "chat.completions") return undefined;
  const promptTokens = promptCounts(route, request, tokens);
  if (promptTokens.length === 0 || promptTokens.length > MAX_COUNTED_PROMPTS) return undefined;
  return { tokenizer: exact.family, promptTokens: [...promptTokens] };
}

/**
 * Tokens the exact tokenizer may count above the engine per choice: an engine's decoder may drop
 * the space of a choice's first token (`▁senza` read as "senza"), whose rest then takes more (the
 * fewest tokens, which prove an overrun, read the text with that space too: `fewestOutput`).
 */
const RETOKENIZE_SLACK_PER_CHOICE = 1;

/** Why the delivered text proves more output than the request allowed, or `undefined`. */
export function outputOverrun(
  text: DeliveredText,
  tokens: RouteTokens,
  limits: AnswerLimits,
): string | undefined {
  const slack = tokens.output.exact === undefined ? 0 : RETOKENIZE_SLACK_PER_CHOICE * text.choices;
  // No count reaches the text's UTF-8 bytes (every token, word and piece holds at least one): text
  // that short proves no overrun without running a tokenizer.
  if (text.provableMax <= limits.maxOutputTokens + slack) return undefined;
  // The exact tokenizer's encoding of the text screens (it is never below the fewest tokens that
  // spell it); only the fewest prove an overrun: an engine that sampled a spelling the merges would
  // not make (`▁senza` `matrix`, which they spell in five) counted fewer than the encoding.
  const counted = text.count(tokens.output);
  if (counted.atLeast <= limits.maxOutputTokens + slack) return undefined;
  const exact = tokens.output.exact;
  const proven = exact === undefined ? counted.atLeast : text.fewest(exact);
  if (proven <= limits.maxOutputTokens + slack) return undefined;
  return `delivered at least ${proven} output tokens by the gateway's count; the request allowed ${limits.maxOutputTokens}`;
}

/**
 * Why the node's declared output is more than the delivered text can hold, or `undefined`: above
 * the text's UTF-8 bytes (every token is at least one byte), beyond a small slack per choice.
 * Declared usage under that bound is not a provable lie; it is still billed no higher than the
 * gateway's own count (`believedUsage`).
 */
export function usageInflated(
  declared: RelayUsage,
  text: DeliveredText,
  limits: AnswerLimits,
): string | undefined {
  if (limits.maxImages > 0) return undefined;
  const provable = text.provableMax + HONEST_OUTPUT_SLACK_PER_CHOICE * Math.max(1, limits.choices);
  if (declared.outputTokens <= provable) return undefined;
  return `declares ${declared.outputTokens} output tokens; the text it delivered holds at most ${provable}`;
}

/**
 * The usage to record and bill: the node's signed usage, never above what the gateway counted
 * (output: the delivered text by its own count, and what ended each choice that stopped; input:
 * the request by the node's tokenizer or an upper bound; images: the answer's), nor above the
 * request's output cap.
 */
export function believedUsage(
  declared: RelayUsage,
  text: DeliveredText,
  route: Route,
  request: DispatchRequest,
  tokens: RouteTokens,
  limits: AnswerLimits,
): RelayUsage {
  // An image answer was checked to hold exactly the images asked for: that count, whatever the node declared.
  if (limits.maxImages > 0) return { ...declared, images: limits.maxImages };
  return {
    ...declared,
    inputTokens: Math.min(declared.inputTokens, inputAtMost(route, request, tokens)),
    outputTokens: Math.min(
      declared.outputTokens,
      deliveredAtMost(declared.outputTokens, text, tokens, request),
      limits.maxOutputTokens,
    ),
  };
}

/**
 * The gateway's own ceiling on the output a text holds, as far as billing `declared` needs it: a
 * declared count at or under the text's words is under any count of it (no token spans two words),
 * so the tokenizer runs only when the node bills more than that. Each choice that ended with
 * `finish_reason: "stop"` may hold, beyond its text, what ended it ({@link stopTokensAtMost}, read
 * from the request only then).
 */
export function deliveredAtMost(
  declared: number,
  text: DeliveredText,
  tokens: RouteTokens,
  request: DispatchRequest,
): number {
  if (declared <= text.words) return declared;
  const stopped = text.stopped;
  return text.count(tokens.output).atMost + (stopped === 0 ? 0 : stopped * stopTokensAtMost(request, tokens));
}

/** Tokens an engine generates to end a choice on its own: its end-of-sequence token. */
const END_OF_SEQUENCE_TOKENS = 1;

/**
 * The most tokens an engine generated, beyond a choice's text, to end it with `finish_reason:
 * "stop"`: its end-of-sequence token (which has no text), or a stop string of the request, which
 * the engine generated and cut from the text — the longest one's tokens by the route's family
 * tokenizer, else its UTF-8 bytes (no token is shorter than a byte). The client named the stop
 * strings, so a node can claim no more than the longest of them per choice; a choice that ran to
 * its limit (`length`) or called a tool generated nothing that is not in its text.
 */
export function stopTokensAtMost(request: DispatchRequest, tokens: RouteTokens): number {
  if (request.operation !== "completions" && request.operation !== "chat.completions")
    return END_OF_SEQUENCE_TOKENS;
  const stop = request.body.stop;
  const strings = typeof stop === "string" ? [stop] : Array.isArray(stop) ? stop : [];
  let most = END_OF_SEQUENCE_TOKENS;
  for (const s of strings) {
    if (typeof s !== "string" || s === "") continue;
    most = Math.max(most, tokens.family?.countOutput(s) ?? utf8Length(s));
  }
  return most;
}

export { DeliveredText };

/**
 * Whether the answer repeats the prompt (`echo` on completions): its text then holds input the
 * gateway cannot tell from output, so no overrun or inflation is read from it (billing still
 * takes the lower of the node's usage and the count).
 */
export function echoesPrompt(request: DispatchRequest): boolean {
  return request.operation === "completions" && request.body.echo === true;
}
