import {
  countRelayInput,
  imageRequestSize,
  imageUnits,
  isEmbeddingTier,
  isTextTier,
  type KeyPair,
  type RelayRequest,
  relayInputs,
  relayOutputCap,
  signRelayRequest,
  type TextRequestOf,
  type ToolCallLimit,
  tokensAtLeast,
  toolCallLimit,
} from "@pocket-ai/protocol";
import type { Route } from "../routing/route-plan.js";
import type { DispatchRequest } from "./dispatcher.js";
import { routeTokens, signedInputCount } from "./route-tokens.js";

export interface SignedRelay {
  readonly envelope: RelayRequest;
  readonly requestHash: string;
}

/**
 * Signs the relay for one route: the route's session header and served tier, the caller's body
 * with `model` set to the served service id, a fresh nonce, the chosen node as target (a node
 * cannot tell an evaluator's relay from any other: every relay names its target), and the input
 * counted by the node's tokenizer family when the gateway has it (`signedInputCount`).
 */
export function signRelay(
  key: KeyPair,
  route: Route,
  request: DispatchRequest,
  stream: boolean,
  now: number,
): SignedRelay {
  const { stream: _s, stream_options: _o, ...rest } = request.body;
  const payload: Record<string, unknown> = { ...rest, model: route.servedServiceId };
  if (stream) payload.stream = true;
  const inputCount = signedInputCount(route, request, routeTokens(route));
  const { request: envelope, requestHash } = signRelayRequest(
    {
      header: route.header,
      tier: route.servedTier.id,
      operation: request.operation,
      payload,
      issuedAt: now,
      target: route.node.address,
      ...(inputCount === undefined ? {} : { inputCount }),
    },
    key,
    "signRelay",
  );
  return { envelope, requestHash };
}

/** What a verified answer may claim: output tokens (text, all choices) and images (image calls). */
export interface AnswerLimits {
  readonly maxOutputTokens: number;
  /** Choices the answer may hold (text: prompts × n; images: 0). */
  readonly choices: number;
  /** Image calls: the images the answer must hold (the request's `n`); 0 for other operations. */
  readonly maxImages: number;
  /** Image calls: the size each image must be (the size asked, or the tier's standard size). */
  readonly imageSize?: { readonly width: number; readonly height: number } | undefined;
  /**
   * Highest compute units the answer may carry: what the protocol's weight (`relayComputeUnits`)
   * gives the call at most, per call or per token alike. The gateway cannot lower a node's signed
   * weight (the claim's leaf commits to it), so an answer above this is refused.
   */
  readonly maxComputeUnits: number;
  /** Input tokens by the protocol's budget rule, counted with the gateway's lower bound (0 for images). */
  readonly inputTokens: number;
  /** Embedding calls: the answer holds exactly `count` vectors of `dimensions` float32s. */
  readonly vectors?: { readonly count: number; readonly dimensions: number } | undefined;
  /**
   * Chat with `logprobs: true`: the most alternatives a token's `top_logprobs` may list (the
   * request's `top_logprobs`, 0 when absent), as OpenAI's chat API answers.
   */
  readonly topLogprobs?: number | undefined;
  /**
   * Chat: the tool calls a choice may make (`toolCallLimit`): none without `tools` or with
   * `tool_choice: "none"`, one with `parallel_tool_calls: false`; absent, any.
   */
  readonly toolCalls?: ToolCallLimit | undefined;
}

const count = (v: unknown, fallback: number) =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : fallback;

/**
 * The limits of an answer on the served tier, by the protocol's budget rule (`relayOutputCap`:
 * the node clamps `max_tokens` the same way), with the input counted as the front door counts it.
 * Its weight is held to what the tier sold weighs too (`request.target.tier`, which the client is
 * charged for): routing never names a heavier tier in the envelope, so a node that signs more than
 * the sold weight is refused (`INVALID_NODE_RESPONSE`) rather than paid more than was charged.
 */
export function answerLimits(route: Route, request: DispatchRequest): AnswerLimits {
  const { weighedUnits, ...limits } = servedTierLimits(route, request);
  // Calls (a batch of prompts counts each), or standard images: as many under either tier, each
  // weighing at most the lighter of the two.
  const perUnit = Math.min(route.servedTier.computeUnitsPerRelay, request.target.tier.computeUnitsPerRelay);
  return { ...limits, maxComputeUnits: perUnit * weighedUnits };
}

/** An answer's limits on the served tier, and the units (calls or standard images) it is weighed in. */
function servedTierLimits(
  route: Route,
  request: DispatchRequest,
): Omit<AnswerLimits, "maxComputeUnits"> & { readonly weighedUnits: number } {
  const tier = route.servedTier;
  const body = request.body;
  if (isEmbeddingTier(tier)) {
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    return {
      maxOutputTokens: 0,
      choices: 0,
      maxImages: 0,
      weighedUnits: 1,
      inputTokens: countRelayInput(
        inputs.map((text) => [{ text: String(text) }]),
        tokensAtLeast,
      ).reduce((sum, tokens) => sum + tokens, 0),
      vectors: { count: inputs.length, dimensions: tier.limits.dimensions },
    };
  }
  if (!isTextTier(tier)) {
    // The node weighs an image call as the standard images of the size asked (`imageUnits`), on
    // the tier it serves; the front door checked the size, so it parses here.
    const n = Math.max(1, count(body.n, 1));
    const size = imageRequestSize(body as Parameters<typeof imageRequestSize>[0], tier);
    const { width, height } = size.ok
      ? size.value
      : { width: tier.limits.maxWidth, height: tier.limits.maxHeight };
    return {
      maxOutputTokens: 0,
      choices: 0,
      maxImages: n,
      imageSize: { width, height },
      weighedUnits: imageUnits(tier, width, height, n),
      inputTokens: 0,
    };
  }
  // A text tier serves text operations only (the route plan matched them).
  const operation = request.operation as "completions" | "chat.completions";
  const text = body as TextRequestOf<typeof operation>;
  const { maxOutputTokens, choices, prompts } = relayOutputCap(operation, text, tier);
  const inputTokens =
    request.inputTokens ??
    countRelayInput(relayInputs(operation, text), tokensAtLeast).reduce((sum, tokens) => sum + tokens, 0);
  // Per call or per token, a relay weighs at most the tier's per-call weight (`relayComputeUnits`),
  // a batch of prompts as that many calls.
  return {
    maxOutputTokens,
    choices,
    maxImages: 0,
    weighedUnits: prompts,
    inputTokens,
    ...(operation === "chat.completions" && body.logprobs === true
      ? { topLogprobs: count(body.top_logprobs, 0) }
      : {}),
    ...(operation === "chat.completions"
      ? {
          toolCalls: toolCallLimit(
            body,
            route.node.offers.get(route.servedServiceId)?.capabilities.forcedToolChoice === true,
          ),
        }
      : {}),
  };
}
