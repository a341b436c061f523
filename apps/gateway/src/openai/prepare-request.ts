import {
  type Catalog,
  chatMaxTokens,
  checkImageLimits,
  checkTextLimits,
  clampMaxTokens,
  fail,
  imageRequestSize,
  type OpenAIRequestOf,
  ok,
  operationSupported,
  parseOpenAIRequest,
  type ResolvedModel,
  type Result,
  resolveModelName,
  type ServiceOperation,
} from "@pocket-ai/protocol";
import type { ReservationAmount } from "../limits/limits.js";
import { reservationFor } from "../limits/reservation-estimate.js";
import { chatInputEstimate, completionInputEstimate } from "./input-estimate.js";

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
  /** Image calls: the output size, to price what was actually made. */
  readonly image?: { readonly width: number; readonly height: number; readonly n: number } | undefined;
}

/** The image service a request without `model` goes to: the catalog's first image service. */
function defaultImageModel(catalog: Catalog): string | undefined {
  return catalog.services.find((s) => s.kind === "image")?.id;
}

/**
 * Validates a `/v1/*` body against its schema, resolves `model` against the catalog and checks
 * the tier's limits before anything is reserved or sent. `max_tokens` above the tier's output
 * limit is clamped (as the node would), not refused; an over-long prompt is refused only when it
 * is certainly over (see `input-estimate.ts`).
 */
export function prepareRelay(
  catalog: Catalog,
  operation: ServiceOperation,
  raw: unknown,
): Result<PreparedRelay> {
  const parsed = parseOpenAIRequest(operation, raw);
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
  const completion = operation === "completions" ? (request as OpenAIRequestOf<"completions">) : undefined;
  const chat =
    operation === "chat.completions" ? (request as OpenAIRequestOf<"chat.completions">) : undefined;
  const estimate = completion !== undefined ? completionInputEstimate(completion) : chatInputEstimate(chat!);
  const prompts =
    completion === undefined
      ? 1
      : Array.isArray(completion.prompt) && typeof completion.prompt[0] !== "number"
        ? completion.prompt.length
        : 1;
  const choices = prompts * (typeof request.n === "number" ? request.n : 1);
  const requested = chat !== undefined ? chatMaxTokens(chat) : completion?.max_tokens;
  const maxTokens = clampMaxTokens(target.tier, requested, choices);
  const limits = checkTextLimits(target, { inputTokens: estimate.atLeast, maxTokens, choices });
  if (!limits.ok) return limits;
  const body: Record<string, unknown> = { ...request, max_tokens: maxTokens };
  delete body.max_completion_tokens;
  const stream = request.stream === true;
  const options = request.stream_options as { include_usage?: boolean | null } | null | undefined;
  const maxOutputTokens = maxTokens * choices;
  const inputTokens = Math.min(estimate.atMost, target.tier.limits.maxInputTokens);
  return ok({
    operation,
    target,
    body,
    stream,
    includeUsage: stream && options?.include_usage === true,
    reservation: reservationFor(target.tier, { inputTokens, maxOutputTokens }),
    maxOutputTokens,
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
  return ok({
    operation,
    target,
    body: request,
    stream: false,
    includeUsage: false,
    reservation: reservationFor(target.tier, {
      inputTokens: 0,
      maxOutputTokens: 0,
      units: limits.value.units,
    }),
    maxOutputTokens: 0,
    image: { ...size.value, n },
  });
}
