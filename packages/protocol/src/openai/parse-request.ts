import type { z } from "zod";
import type { ServiceOperation } from "../catalog/index.js";
import { describeZodIssues, zodIssuePath } from "../catalog/zod-issues.js";
import { fail, ok, type Result } from "../errors/index.js";
import { ChatCompletionRequest } from "./chat-request.js";
import { CompletionRequest } from "./completion-request.js";
import { EmbeddingRequest } from "./embeddings.js";
import { ImageEditRequest, ImageGenerationRequest } from "./image-requests.js";

/**
 * The request schema of each operation.
 *
 * @example
 * ```ts
 * OPENAI_REQUEST_SCHEMAS["chat.completions"].safeParse(body);
 * ```
 */
export const OPENAI_REQUEST_SCHEMAS = {
  completions: CompletionRequest,
  "chat.completions": ChatCompletionRequest,
  "images.generations": ImageGenerationRequest,
  "images.edits": ImageEditRequest,
  embeddings: EmbeddingRequest,
} as const satisfies Record<ServiceOperation, z.ZodType>;

/**
 * The parsed request type of an operation, e.g. `OpenAIRequestOf<"completions">` is
 * {@link CompletionRequest}.
 *
 * @example
 * ```ts
 * const body: OpenAIRequestOf<"images.generations"> = { prompt: "a cat" };
 * ```
 */
export type OpenAIRequestOf<Op extends ServiceOperation> = z.infer<(typeof OPENAI_REQUEST_SCHEMAS)[Op]>;

/**
 * The HTTP path of each operation under `/v1`.
 *
 * @example
 * ```ts
 * OPENAI_OPERATION_PATHS["chat.completions"]; // "/v1/chat/completions"
 * ```
 */
export const OPENAI_OPERATION_PATHS = {
  completions: "/v1/completions",
  "chat.completions": "/v1/chat/completions",
  "images.generations": "/v1/images/generations",
  "images.edits": "/v1/images/edits",
  embeddings: "/v1/embeddings",
} as const satisfies Record<ServiceOperation, string>;

/**
 * Validates the body of an OpenAI-style request for an operation. On failure: INVALID_REQUEST with
 * `param` = the path of the first bad field, written as OpenAI's API writes it
 * (`"messages[0].role"`, `"max_tokens"`; empty when the body is not an object) and the first
 * issues explained in `detail`. Unknown fields are kept. An
 * operation that is none of {@link OPENAI_REQUEST_SCHEMAS} (a caller's unchecked value: text such
 * as `toString`, or no text at all) is UNSUPPORTED_OPERATION, not a throw.
 *
 * @example
 * ```ts
 * const r = parseOpenAIRequest("chat.completions", { model: "mistral-7b", messages: [{ role: "bot", content: "x" }] });
 * if (!r.ok) r.error.param; // "messages[0].role"
 * ```
 */
export function parseOpenAIRequest<Op extends ServiceOperation>(
  operation: Op,
  body: unknown,
): Result<OpenAIRequestOf<Op>> {
  // Text only (an object or symbol has no safe string form, and `["completions"]` would be taken
  // for its one element), and own keys only: an inherited `toString` or `constructor` is no schema.
  if (typeof operation !== "string")
    return fail("UNSUPPORTED_OPERATION", `the operation must be text, got ${describeType(operation)}`);
  if (!Object.hasOwn(OPENAI_REQUEST_SCHEMAS, operation))
    return fail("UNSUPPORTED_OPERATION", `there is no operation named '${operation.slice(0, 64)}'`);
  const schema: z.ZodType = OPENAI_REQUEST_SCHEMAS[operation];
  const parsed = schema.safeParse(body);
  if (parsed.success) return ok(parsed.data as OpenAIRequestOf<Op>);
  const first = parsed.error.issues[0];
  const param = first === undefined ? "" : zodIssuePath(first, "openai");
  const detail = describeZodIssues(parsed.error.issues, 3, "openai");
  return fail("INVALID_REQUEST", detail, param === "" ? undefined : param);
}

function describeType(value: unknown): string {
  if (value === null) return "null";
  return Array.isArray(value) ? "an array" : typeof value;
}
