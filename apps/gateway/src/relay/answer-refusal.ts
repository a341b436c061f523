import {
  ChatCompletionChunk,
  ChatCompletionResponse,
  CompletionChunk,
  CompletionResponse,
  EmbeddingResponse,
  ImagesResponse,
  type ProtocolError,
  RelayResponse,
  RelayStreamChunk,
} from "@pocket-ai/protocol";
import { z } from "zod";

/**
 * Why the gateway refused a node's answer or cut its stream: one code per check the gateway runs
 * on what a node sends (`verify-answer.ts`, `stream-checks.ts`, the stream verifier). Stable: an
 * operator's alerts and the `pocket_gateway_node_refused_answers_total` series are keyed on them.
 *
 * - `BAD_SIGNATURE`: the signature does not verify, or cannot be read.
 * - `UNSIGNED`: a chunk that must be signed (a stream's first, its final) is not.
 * - `WRONG_SIGNER`: signed by a key that is not the node's, or the address is not its key's.
 * - `BAD_ENVELOPE`: the envelope does not match the protocol's schema.
 * - `WRONG_REQUEST`: the answer or chunk belongs to another request.
 * - `WRONG_SESSION`: the answer carries another session header (another service, application or session).
 * - `CHUNK_ORDER`: a chunk out of order, dropped, repeated, or after the final chunk.
 * - `CHAIN_BROKEN`: a chunk does not extend the stream's hash chain (spliced from another stream).
 * - `STREAM_INCOMPLETE`: the stream ended without a chunk, or without its final chunk.
 * - `SCHEMA`: the payload or chunk is not the operation's OpenAI shape (or carries an `error` member).
 * - `USAGE_OVER_LIMIT`: the declared usage or compute units exceed what the request allowed.
 * - `USAGE_INFLATED`: the declared usage exceeds what the delivered text can hold.
 * - `OUTPUT_OVER_LIMIT`: the delivered text, by the gateway's count, exceeds the request's output limit.
 * - `CHOICES`: a choice not asked for, one twice, or one asked for missing.
 * - `OUTPUT_AFTER_FINISH`: a choice streamed output after its `finish_reason`.
 * - `TOOL_CALLS`: more than one tool call in a choice when the request set `parallel_tool_calls: false`.
 * - `TOOL_CALLS_NOT_OFFERED`: a tool call, or `finish_reason: "tool_calls"`, when the request offered
 *   no tools or set `tool_choice: "none"` (no engine makes one then: the node made it up).
 * - `TOP_LOGPROBS`: more `top_logprobs` alternatives than the request asked for.
 * - `PROMPT_LOGPROBS`: an echoed prompt's log-probabilities asked for and left out.
 * - `EMBEDDINGS`: embeddings not one per input, in order, of the model's dimensions.
 * - `IMAGES`: not the images asked for (count, size, whole PNGs).
 */
export const AnswerRefusalReasons = [
  "BAD_SIGNATURE",
  "UNSIGNED",
  "WRONG_SIGNER",
  "BAD_ENVELOPE",
  "WRONG_REQUEST",
  "WRONG_SESSION",
  "CHUNK_ORDER",
  "CHAIN_BROKEN",
  "STREAM_INCOMPLETE",
  "SCHEMA",
  "USAGE_OVER_LIMIT",
  "USAGE_INFLATED",
  "OUTPUT_OVER_LIMIT",
  "CHOICES",
  "OUTPUT_AFTER_FINISH",
  "TOOL_CALLS",
  "TOOL_CALLS_NOT_OFFERED",
  "TOP_LOGPROBS",
  "PROMPT_LOGPROBS",
  "EMBEDDINGS",
  "IMAGES",
] as const;

export type AnswerRefusalReason = (typeof AnswerRefusalReasons)[number];

/**
 * Why one answer or chunk was refused: its reason code, and a detail in the gateway's own words
 * (counts, limits, field names of the protocol's schemas), never a string the node sent: the
 * detail reaches the operator's log and the admin pages, and a node's text could be a prompt's,
 * an output's, or a forged log line.
 */
export interface AnswerRefusal {
  readonly reason: AnswerRefusalReason;
  readonly detail: string;
}

export const refusal = (reason: AnswerRefusalReason, detail: string): AnswerRefusal => ({ reason, detail });

/**
 * A refusal of the protocol's envelope checks (`verifyRelayResponse`, `RelayStreamVerifier.accept`)
 * by its code and the field it names; `what` says what was checked ("relay response", "stream
 * chunk"), `input` is what the node sent (only whether it carries a signature is read). The
 * protocol's own detail is not used: a schema issue's message can quote the node's keys.
 */
export function envelopeRefusal(what: string, error: ProtocolError, input: unknown): AnswerRefusal {
  if (error.code === "INVALID_SIGNATURE")
    return refusal("BAD_SIGNATURE", `${what}: the signature does not verify`);
  if (error.code === "ADDRESS_MISMATCH")
    return refusal("WRONG_SIGNER", `${what}: not signed by the node the relay was sent to`);
  switch (error.param) {
    case "requestHash":
      return refusal("WRONG_REQUEST", `${what}: does not name the relay's request hash`);
    case "header":
      return refusal("WRONG_SESSION", `${what}: does not carry the relay's session header`);
    case "seq":
      return refusal("CHUNK_ORDER", `${what}: out of order, dropped, repeated or after the final chunk`);
    case "chain":
      return refusal("CHAIN_BROKEN", `${what}: does not extend the stream's hash chain`);
    case "signature": {
      const signed = typeof input === "object" && input !== null && "signature" in input;
      return signed
        ? refusal("BAD_SIGNATURE", `${what}: the signature cannot be read`)
        : refusal("UNSIGNED", `${what}: the final chunk is not signed`);
    }
  }
  return refusal(
    "BAD_ENVELOPE",
    `${what}: does not match the protocol's schema${error.param === undefined ? "" : ` at ${safePath(error.param.split("."))}`}`,
  );
}

/**
 * A schema refusal in the gateway's words: where (`payload`, `chunk`), the issue's path with only
 * the schema's own field names and indexes, and the issue's kind (with the type the schema
 * expected). Zod's message is not used: for some issues it quotes the input's keys.
 */
export function schemaRefusal(where: string, issue: z.core.$ZodIssue | undefined): AnswerRefusal {
  if (issue === undefined) return refusal("SCHEMA", `${where} off-schema`);
  const expected = issue.code === "invalid_type" ? `, expected ${issue.expected}` : "";
  const at = issue.path.length === 0 ? "" : ` at ${safePath(issue.path)}`;
  return refusal("SCHEMA", `${where} off-schema${at} (${issue.code}${expected})`);
}

/**
 * A path into a node's answer as the gateway may write it: indexes as numbers, and a key only when
 * it is a field name of the answers' schemas; any other key (a logprob's token, a key the node
 * made up) is `*`.
 */
export function safePath(path: readonly PropertyKey[]): string {
  const known = knownFields();
  return path
    .map((segment) => {
      if (typeof segment === "number") return Number.isSafeInteger(segment) ? String(segment) : "*";
      if (typeof segment === "string" && (/^(0|[1-9]\d{0,8})$/.test(segment) || known.has(segment)))
        return segment;
      return "*";
    })
    .join(".");
}

let fields: ReadonlySet<string> | undefined;

/** The field names of every schema a node's answer is checked against, read once, on a first refusal. */
function knownFields(): ReadonlySet<string> {
  if (fields !== undefined) return fields;
  const names = new Set<string>();
  const collect = (value: unknown): void => {
    if (Array.isArray(value)) for (const item of value) collect(item);
    else if (typeof value === "object" && value !== null)
      for (const [key, inner] of Object.entries(value)) {
        if (key === "properties" && typeof inner === "object" && inner !== null)
          for (const name of Object.keys(inner)) names.add(name);
        collect(inner);
      }
  };
  for (const schema of [
    CompletionResponse,
    ChatCompletionResponse,
    CompletionChunk,
    ChatCompletionChunk,
    EmbeddingResponse,
    ImagesResponse,
    RelayResponse,
    RelayStreamChunk,
  ] as z.ZodType[]) {
    // A schema the converter cannot read leaves its names out: they are written as `*`.
    try {
      collect(z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }));
    } catch {}
  }
  fields = names;
  return names;
}
