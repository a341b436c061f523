import {
  type Catalog,
  checkEmbeddingLimits,
  checkImageLimits,
  countRelayInput,
  type EmbeddingRequest,
  embeddingInputs,
  fail,
  imageRequestSize,
  type OpenAIRequestOf,
  ok,
  operationSupported,
  parseOpenAIRequest,
  type ResolvedModel,
  type Result,
  relayBudget,
  relayInputs,
  resolveModelName,
  type ServiceOperation,
  type TextRequestOf,
  tokensAtLeast,
  tokensAtMost,
} from "@pocket-ai/protocol";
import type { ReservationAmount } from "../limits/limits.js";
import { reservationFor } from "../limits/reservation-estimate.js";
import { embeddingTokensAtMost } from "../relay/route-tokens.js";
import { checkToolChoice, checkToolResults } from "./chat-tool-use.js";
import { applyFieldPolicy } from "./field-policy.js";

/** A validated request, ready to reserve for and dispatch. */
export interface PreparedRelay {
  readonly operation: ServiceOperation;
  readonly target: ResolvedModel;
  /** The validated body; text calls carry the clamped `max_tokens` the node will also apply. */
  readonly body: Record<string, unknown>;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly reservation: ReservationAmount;
  /** Output tokens the call may produce over all its choices (0 for images). */
  readonly maxOutputTokens: number;
  /**
   * Input tokens as the gateway counts them by the protocol's budget rule with its lower-bound
   * counter (it has no tokenizer): what it bills when no node-signed count exists (0 for images).
   */
  readonly inputTokens: number;
  /**
   * Text calls: prompts in the call (a `/v1/completions` batch), each priced as one call at the
   * tier's price; 1 for chat and images.
   */
  readonly calls?: number | undefined;
  /** Embedding calls: the vectors asked for, and how the client wants them written. */
  readonly embedding?:
    | { readonly inputs: number; readonly dimensions: number; readonly encoding: "float" | "base64" }
    | undefined;
  /** Image calls: the output size, to price what was actually made. */
  readonly image?: { readonly width: number; readonly height: number; readonly n: number } | undefined;
}

/** The image service a request without `model` goes to: the catalog's first image service. */
function defaultImageModel(catalog: Catalog): string | undefined {
  return catalog.services.find((s) => s.kind === "image")?.id;
}

/**
 * Applies the field policy (`field-policy.ts`), validates a `/v1/*` body against its schema, resolves `model` against the catalog and checks
 * the tier's limits before anything is reserved or sent. `max_tokens` above the tier's output
 * limit is clamped (as the node would), not refused; an over-long prompt is refused only when it
 * is certainly over: the protocol's budget rule (`relayBudget`) runs with the lower-bound counter
 * `tokensAtLeast`, and the key's token budget is reserved with the upper bound `tokensAtMost`.
 */
export function prepareRelay(
  catalog: Catalog,
  operation: ServiceOperation,
  raw: unknown,
): Result<PreparedRelay> {
  const known = applyFieldPolicy(operation, raw);
  if (!known.ok) return known;
  const parsed = parseOpenAIRequest(operation, known.value);
  if (!parsed.ok) return parsed;
  const request = parsed.value as Record<string, unknown> & { model?: string | null };
  const model = request.model ?? (operation.startsWith("images.") ? defaultImageModel(catalog) : undefined);
  if (model === undefined || model === null) return fail("UNKNOWN_MODEL", "no model was named", "model");
  const resolved = resolveModelName(catalog, model);
  if (!resolved.ok) return resolved;
  const target = resolved.value;
  if (!operationSupported(target.service, operation)) {
    return fail("UNSUPPORTED_OPERATION", `${target.modelName} does not offer ${operation}`, "model");
  }
  if (target.kind === "image") return prepareImage(target, operation, request);
  if (target.kind === "embedding") {
    if (operation !== "embeddings") {
      return fail("UNSUPPORTED_OPERATION", `${target.modelName} is an embedding service`, "model");
    }
    return prepareEmbedding(target, request as EmbeddingRequest);
  }
  if (operation === "completions" || operation === "chat.completions") {
    return prepareText(target, operation, request);
  }
  return fail("UNSUPPORTED_OPERATION", `${target.modelName} is a text service`, "model");
}

function prepareText(
  target: Extract<ResolvedModel, { kind: "text" }>,
  operation: "completions" | "chat.completions",
  request: Record<string, unknown>,
): Result<PreparedRelay> {
  const text = request as TextRequestOf<typeof operation>;
  const bestOf = operation === "completions" ? request.best_of : undefined;
  if (typeof bestOf === "number") {
    const n = typeof request.n === "number" ? request.n : 1;
    // OpenAI's `best_of` generates that many and returns the `n` most likely. No node chooses
    // among completions (engines are called with what they return): refused, never ignored.
    if (bestOf < n)
      return fail("INVALID_REQUEST", `best_of (${bestOf}) must be at least n (${n})`, "best_of");
    if (bestOf > n)
      return fail(
        "UNSUPPORTED_PARAMETER",
        `best_of above n is not offered: nodes return every completion they generate; ask for n: ${bestOf} and choose among them`,
        "best_of",
      );
  }
  if (operation === "chat.completions") {
    // As OpenAI's chat API: an answer of no tokens is no answer (completions keep `max_tokens: 0`,
    // which scores a prompt's own logprobs with `echo`), and alternatives need logprobs.
    for (const field of ["max_tokens", "max_completion_tokens"] as const)
      if (request[field] === 0)
        return fail("INVALID_REQUEST", `${field} must be at least 1 for a chat completion`, field);
    if (typeof request.top_logprobs === "number" && request.top_logprobs > 0 && request.logprobs !== true)
      return fail("INVALID_REQUEST", "top_logprobs needs logprobs: true", "top_logprobs");
  }
  let relayed = request;
  if (operation === "chat.completions") {
    const results = checkToolResults(request.messages);
    if (!results.ok) return results;
    const tools = checkToolChoice(request);
    if (!tools.ok) return tools;
    relayed = tools.value;
  }
  const budget = relayBudget(operation, text, target, tokensAtLeast);
  if (!budget.ok) return budget;
  const { maxTokens, maxOutputTokens, inputTokens, prompts } = budget.value;
  const body: Record<string, unknown> = { ...relayed, max_tokens: maxTokens };
  delete body.max_completion_tokens;
  const stream = request.stream === true;
  const options = request.stream_options as { include_usage?: boolean | null } | null | undefined;
  // Reserve for the most the node may count: each prompt's upper bound, capped at the limit it passed.
  const limit = target.tier.limits.maxInputTokens;
  const reserved = countRelayInput(relayInputs(operation, text), tokensAtMost).reduce(
    (sum, tokens) => sum + Math.min(tokens, limit),
    0,
  );
  return ok({
    operation,
    target,
    body,
    stream,
    includeUsage: stream && options?.include_usage === true,
    reservation: reservationFor(target.tier, { inputTokens: reserved, maxOutputTokens, units: prompts }),
    maxOutputTokens,
    inputTokens,
    calls: prompts,
  });
}

/**
 * An embeddings call: its inputs checked against the tier (`checkEmbeddingLimits`, each input
 * with the lower-bound counter, so only a certainly over-long one is refused here), reserved
 * with the upper bound. The relayed body carries the inputs as a list and no `encoding_format`
 * nor `dimensions`: nodes always answer base64 float32 at the tier's length, and the gateway
 * writes the vectors as the client asked.
 */
function prepareEmbedding(
  target: Extract<ResolvedModel, { kind: "embedding" }>,
  request: EmbeddingRequest,
): Result<PreparedRelay> {
  const inputs = embeddingInputs(request);
  const checked = checkEmbeddingLimits(
    target.tier,
    { inputs, dimensions: request.dimensions },
    tokensAtLeast,
  );
  if (!checked.ok) return checked;
  const reserved = embeddingTokensAtMost(inputs, target.tier.limits.maxTokensPerInput);
  const { encoding_format: encoding, dimensions: _dimensions, ...rest } = request;
  return ok({
    operation: "embeddings",
    target,
    body: { ...rest, input: [...inputs] },
    stream: false,
    includeUsage: false,
    reservation: reservationFor(target.tier, { inputTokens: reserved, maxOutputTokens: 0 }),
    maxOutputTokens: 0,
    inputTokens: checked.value.inputTokens,
    embedding: {
      inputs: inputs.length,
      dimensions: target.tier.limits.dimensions,
      encoding: encoding === "base64" ? "base64" : "float",
    },
  });
}

function prepareImage(
  target: Extract<ResolvedModel, { kind: "image" }>,
  operation: ServiceOperation,
  request: Record<string, unknown>,
): Result<PreparedRelay> {
  const image = request as OpenAIRequestOf<"images.edits">;
  const size = imageRequestSize(image, target.tier);
  if (!size.ok) return size;
  const n = image.n ?? 1;
  const limits = checkImageLimits(target, { ...size.value, steps: image.steps ?? undefined, n });
  if (!limits.ok) return limits;
  const { width, height } = size.value;
  return ok({
    operation,
    target,
    // The size priced is the size asked of the node, spelled out (absent, an edit would come back
    // at its source image's size): the answer's images are checked against it.
    body: { ...request, size: `${width}x${height}` },
    stream: false,
    includeUsage: false,
    reservation: reservationFor(target.tier, {
      inputTokens: 0,
      maxOutputTokens: 0,
      units: limits.value.units,
    }),
    maxOutputTokens: 0,
    inputTokens: 0,
    image: { ...size.value, n },
  });
}
