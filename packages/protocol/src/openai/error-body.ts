import { z } from "zod";

/**
 * OpenAI's error body, `{ error: { message, type, param, code } }` — what the gateway returns on a
 * refusal (build it with `toOpenAIError`) and what a backend may return to a node. Also the payload
 * of the final SSE event of a stream that fails mid-way.
 *
 * @example
 * ```ts
 * OpenAIErrorBody.parse({ error: { message: "bad", type: "invalid_request_error", param: "model", code: null } });
 * ```
 */
export const OpenAIErrorBody = z.looseObject({
  error: z.looseObject({
    message: z.string(),
    type: z.string().nullish(),
    param: z.string().nullish(),
    code: z.union([z.string(), z.number()]).nullish(),
  }),
});

/** A parsed {@link OpenAIErrorBody}. */
export type OpenAIErrorBody = z.infer<typeof OpenAIErrorBody>;
