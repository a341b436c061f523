import { base64PngsMismatch } from "@pocket-ai/png";
import {
  answerChoicesMismatch,
  ChatCompletionChunk,
  ChatCompletionResponse,
  CompletionChunk,
  CompletionResponse,
  carriesErrorMember,
  EmbeddingResponse,
  ImagesResponse,
  normalizeFinishReasons,
  type RelayOperation,
  type RelayResponse,
  type RelayUsage,
  type SessionHeader,
  toolCallsOverLimit,
  unpackEmbedding,
  verifyRelayResponse,
} from "@pocket-ai/protocol";
import type { z } from "zod";
import { type AnswerRefusal, envelopeRefusal, refusal, schemaRefusal } from "./answer-refusal.js";
import { type InvalidNodeResponse, invalidAnswer } from "./attempt-errors.js";
import type { AnswerLimits } from "./relay-envelope.js";

const ANSWER_SCHEMAS: Record<RelayOperation, z.ZodType> = {
  completions: CompletionResponse,
  "chat.completions": ChatCompletionResponse,
  "images.generations": ImagesResponse,
  "images.edits": ImagesResponse,
  embeddings: EmbeddingResponse,
};

const CHUNK_SCHEMAS: Record<"completions" | "chat.completions", z.ZodType> = {
  completions: CompletionChunk,
  "chat.completions": ChatCompletionChunk,
};

export interface AnswerExpectations {
  readonly requestHash: string;
  readonly nodeAddress: string;
  readonly header: SessionHeader;
  readonly operation: RelayOperation;
  readonly limits: AnswerLimits;
}

/** A refusal under the node's valid signature, still to be judged (`judge-refusal.ts`). */
export interface SignedRefusal {
  readonly _tag: "SignedRefusal";
  readonly code: string;
  readonly detail: string;
}

export interface VerifiedAnswer {
  readonly _tag: "VerifiedAnswer";
  readonly response: RelayResponse;
  readonly responseHash: string;
  readonly payload: Record<string, unknown>;
}

/** Checks usage and weight against what the request allowed. Returns a reason when over. */
export function overLimit(
  usage: RelayUsage,
  computeUnits: number,
  limits: AnswerLimits,
): AnswerRefusal | undefined {
  if (usage.outputTokens > limits.maxOutputTokens && limits.maxImages === 0) {
    return refusal(
      "USAGE_OVER_LIMIT",
      `claims ${usage.outputTokens} output tokens; the request allowed ${limits.maxOutputTokens}`,
    );
  }
  if (computeUnits > limits.maxComputeUnits) {
    return refusal(
      "USAGE_OVER_LIMIT",
      `claims ${computeUnits} compute units; at most ${limits.maxComputeUnits} were possible`,
    );
  }
  return undefined;
}

/**
 * Verifies a unary answer: envelope and node signature, the request hash, node and session header
 * it must echo (so the service matches), then a refusal's code, or the payload's OpenAI schema and
 * the limits (no more tokens or images than asked).
 */
export function verifyAnswer(
  raw: unknown,
  expect: AnswerExpectations,
): VerifiedAnswer | InvalidNodeResponse | SignedRefusal {
  const { nodeAddress } = expect;
  const invalid = (why: AnswerRefusal) => invalidAnswer(nodeAddress, why);
  const verified = verifyRelayResponse(raw, {
    requestHash: expect.requestHash,
    nodeAddress,
    header: expect.header,
  });
  if (!verified.ok) return invalid(envelopeRefusal("relay response", verified.error, raw));
  const { response, responseHash } = verified.value;
  if (response.outcome === "error") {
    const error = response.error!;
    return { _tag: "SignedRefusal", code: error.code, detail: error.detail ?? error.message };
  }
  // Engines spell finish_reason their own way (TGI's `eos_token`): mapped to OpenAI's four values
  // as the node's adapters and `pocket-node check` do, so that no honest node is sanctioned for it.
  // The signature covers the node's bytes; the client gets the normalised copy.
  const payload = normalizeFinishReasons(response.payload);
  if (carriesErrorMember(payload)) return invalid(refusal("SCHEMA", ERROR_MEMBER));
  const parsed = ANSWER_SCHEMAS[expect.operation].safeParse(payload);
  if (!parsed.success) return invalid(schemaRefusal("payload", parsed.error.issues[0]));
  const over = overLimit(response.usage, response.computeUnits, expect.limits);
  if (over !== undefined) return invalid(over);
  // A text answer holds exactly the choices asked for (prompts × n): a batch answered in part is
  // not paid as the whole.
  if (expect.limits.choices > 0) {
    const wrong = answerChoicesMismatch(payload, expect.limits.choices);
    if (wrong !== undefined) return invalid(refusal("CHOICES", `the answer ${wrong}`));
  }
  const alternatives = topLogprobsOverCount(payload, expect.limits.topLogprobs);
  if (alternatives !== undefined) return invalid(alternatives);
  const calls = toolCallsOverLimit(payload, expect.limits.toolCalls);
  if (calls !== undefined) return invalid(calls);
  const vectors = expect.limits.vectors;
  if (vectors !== undefined) {
    const wrong = vectorsOffShape(response.payload as EmbeddingResponse, vectors);
    if (wrong !== undefined) return invalid(refusal("EMBEDDINGS", wrong));
  }
  // An image answer holds exactly the images asked for (each a whole PNG of the size asked, which
  // `imagesMismatch` checks off the event loop): fewer is not paid as the whole. The client gets
  // the images the checks see and nothing else: a node's `url` (a picture fetched from elsewhere),
  // `revised_prompt` (text no check reads) and fields of its own stay with it.
  if (expect.limits.maxImages > 0) {
    const images = parsed.data as ImagesResponse;
    if (images.data.length !== expect.limits.maxImages)
      return invalid(
        refusal("IMAGES", `returned ${images.data.length} images; ${expect.limits.maxImages} were asked`),
      );
    const only = { created: images.created, data: images.data.map((item) => ({ b64_json: item.b64_json })) };
    return { _tag: "VerifiedAnswer", response, responseHash, payload: only };
  }
  return {
    _tag: "VerifiedAnswer",
    response,
    responseHash,
    payload: payload as Record<string, unknown>,
  };
}

/**
 * For an answer `verifyAnswer` passed: why its images are not each a whole PNG of the size asked
 * (smaller or garbled is not paid as the whole), or `undefined` when they are; `undefined` at once
 * (no promise) for an answer with no images to look at. The images inflate on zlib's thread pool.
 */
export function imagesMismatch(
  payload: Record<string, unknown>,
  limits: AnswerLimits,
): Promise<string | undefined> | undefined {
  const size = limits.imageSize;
  if (limits.maxImages === 0 || size === undefined) return undefined;
  return base64PngsMismatch(
    (payload as unknown as ImagesResponse).data.map((item) => item.b64_json),
    size,
  );
}

/**
 * Why an embeddings answer is not the one asked for: one vector per input at indexes 0…n-1, each
 * base64 of exactly `dimensions` finite float32s (the bytes the node signed).
 */
function vectorsOffShape(
  payload: EmbeddingResponse,
  expected: { readonly count: number; readonly dimensions: number },
): string | undefined {
  if (payload.data.length !== expected.count) {
    return `returned ${payload.data.length} embeddings for ${expected.count} inputs`;
  }
  for (const [i, item] of payload.data.entries()) {
    if (item.index !== i) return `embedding ${i} is out of order`;
    const vector = typeof item.embedding === "string" ? unpackEmbedding(item.embedding) : undefined;
    if (vector?.length !== expected.dimensions) {
      return `embedding ${i} is not ${expected.dimensions} base64 float32 values`;
    }
  }
  return undefined;
}

/** Checks a stream chunk's data against the operation's chunk schema; a reason when it does not fit. */
export function chunkOffSchema(operation: RelayOperation, data: unknown): AnswerRefusal | undefined {
  if (operation !== "completions" && operation !== "chat.completions")
    return refusal("SCHEMA", "images do not stream");
  if (carriesErrorMember(data)) return refusal("SCHEMA", ERROR_MEMBER);
  if (operation === "chat.completions" && plainChatChunk(data)) return undefined;
  const parsed = CHUNK_SCHEMAS[operation].safeParse(normalizeFinishReasons(data));
  if (parsed.success) return undefined;
  return schemaRefusal("chunk", parsed.error.issues[0]);
}

/**
 * Why a chat answer or chunk (one its schema accepted) lists more alternatives for a token than the
 * request's `top_logprobs` allows (`most`), or `undefined`: OpenAI's chat API lists at most that
 * many, the sampled token only if it is one of them. No limit, no check.
 */
export function topLogprobsOverCount(data: unknown, most: number | undefined): AnswerRefusal | undefined {
  if (most === undefined || !isRecord(data) || !Array.isArray(data.choices)) return undefined;
  for (const choice of data.choices) {
    const content = isRecord(choice) && isRecord(choice.logprobs) ? choice.logprobs.content : undefined;
    if (!Array.isArray(content)) continue;
    for (const entry of content) {
      const listed = isRecord(entry) && Array.isArray(entry.top_logprobs) ? entry.top_logprobs.length : 0;
      if (listed > most) {
        const index = isRecord(choice) && Number.isSafeInteger(choice.index) ? String(choice.index) : "?";
        return refusal(
          "TOP_LOGPROBS",
          `choice ${index} lists ${listed} top_logprobs for a token; the request asked for ${most}`,
        );
      }
    }
  }
  return undefined;
}

const ERROR_MEMBER = "the answer carries an `error` member: errors are the gateway's to write";

/** A JSON object (not an array, not null). */
export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const isCount = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;
const isAbsent = (value: unknown) => value === undefined || value === null;
const isText = (value: unknown) => isAbsent(value) || typeof value === "string";

/**
 * Whether a chat chunk has the plain shape of a streamed content piece — each choice a `delta` of
 * role, content or refusal, `finish_reason: null`, no logprobs, tool calls or usage — checked by
 * hand, as most chunks are. It accepts only chunks `ChatCompletionChunk` accepts; anything else
 * (a final chunk, tool calls, logprobs, usage, a malformed chunk) goes through the schema, which
 * says what is wrong.
 */
export function plainChatChunk(data: unknown): boolean {
  if (!isRecord(data)) return false;
  if (
    typeof data.id !== "string" ||
    data.object !== "chat.completion.chunk" ||
    typeof data.model !== "string"
  )
    return false;
  if (!isCount(data.created) || !isAbsent(data.usage) || !isText(data.system_fingerprint)) return false;
  if (!Array.isArray(data.choices)) return false;
  for (const choice of data.choices) {
    if (!isRecord(choice) || !isCount(choice.index) || choice.finish_reason !== null) return false;
    if (!isAbsent(choice.logprobs)) return false;
    const delta = choice.delta;
    if (!isRecord(delta) || !(delta.role === undefined || delta.role === "assistant")) return false;
    if (!isText(delta.content) || !isText(delta.refusal) || !isAbsent(delta.tool_calls)) return false;
  }
  return true;
}
