import { z } from "zod";
import { PoktAddress, PublicKeyHex } from "../crypto/index.js";
import { isCanonicalJson } from "../encoding/index.js";
import { type ErrorCode, ErrorCodes } from "../errors/index.js";

/**
 * The OpenAI-compatible operation a relay performs, named after its `/v1` path.
 *
 * @example
 * ```ts
 * RelayOperation.parse("chat.completions"); // POST /v1/chat/completions
 * ```
 */
export const RelayOperation = z.enum([
  "completions",
  "chat.completions",
  "images.generations",
  "images.edits",
  "embeddings",
]);

/** A parsed {@link RelayOperation}. */
export type RelayOperation = z.infer<typeof RelayOperation>;

/**
 * Who signed an envelope: the `pokt1…` address and the compressed public key (66 lowercase hex
 * digits) it is derived from. Verification refuses an address that is not the key's.
 *
 * @example
 * ```ts
 * RelaySignerIdentity.parse({ address: kp.address, publicKey: kp.publicKeyHex });
 * ```
 */
export const RelaySignerIdentity = z.strictObject({ address: PoktAddress, publicKey: PublicKeyHex });

/** A parsed {@link RelaySignerIdentity}. */
export type RelaySignerIdentity = z.infer<typeof RelaySignerIdentity>;

/**
 * Most prompts a relay's input count lists: a completions batch longer than this is counted by
 * the node itself.
 */
export const MAX_COUNTED_PROMPTS = 4096;

/**
 * The gateway's count of a text relay's input, signed with the request: the tokens of each prompt
 * (in the order of `relayInputs`, by the protocol's budget rule) as the named tokenizer family
 * counts them. A node whose counter is that family may take the count instead of running its
 * tokenizer, and checks it on a random share of relays (see the node's `relay.countAudit`); the
 * count is the gateway's own signed word, so it cannot dispute a bill that uses it.
 *
 * @example
 * ```ts
 * RelayInputCount.parse({ tokenizer: "llama-2", promptTokens: [2416] });
 * ```
 */
export const RelayInputCount = z.strictObject({
  tokenizer: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,31}$/),
  promptTokens: z.array(z.int().nonnegative()).min(1).max(MAX_COUNTED_PROMPTS),
});

/** A parsed {@link RelayInputCount}. */
export type RelayInputCount = z.infer<typeof RelayInputCount>;

/**
 * A SHA-256 digest as 64 lowercase hex digits (request hashes, response hashes, stream chains).
 *
 * @example
 * ```ts
 * RelayDigestHex.parse("ab".repeat(32));
 * ```
 */
export const RelayDigestHex = z.string().regex(/^[0-9a-f]{64}$/, {
  message: "expected a SHA-256 digest: 64 lowercase hex digits",
});

/**
 * Any JSON value (not `undefined`) that canonical JSON can encode: the OpenAI bodies and chunks
 * relays carry. Checked up front so that hashing a parsed envelope cannot fail.
 *
 * @example
 * ```ts
 * RelayJsonPayload.safeParse({ model: "llama-2-13b", prompt: "hi" }).success; // true
 * RelayJsonPayload.safeParse(Number.NaN).success; // false
 * ```
 */
export const RelayJsonPayload = z.unknown().refine(isCanonicalJson, {
  message: "expected a JSON value (finite numbers, plain objects, no undefined in arrays)",
});

/**
 * What a relay consumed, as integers: prompt tokens, generated tokens and, for image operations,
 * the number of images produced.
 *
 * @example
 * ```ts
 * RelayUsage.parse({ inputTokens: 12, outputTokens: 200 });
 * ```
 */
export const RelayUsage = z.strictObject({
  inputTokens: z.int().nonnegative(),
  outputTokens: z.int().nonnegative(),
  images: z.int().nonnegative().optional(),
});

/** A parsed {@link RelayUsage}. */
export type RelayUsage = z.infer<typeof RelayUsage>;

const errorCodeNames = Object.keys(ErrorCodes) as [ErrorCode, ...ErrorCode[]];

/**
 * The error a node reports in a signed response or final stream chunk: a shared error code, a
 * human message and an optional detail.
 *
 * @example
 * ```ts
 * RelayErrorBody.parse({ code: "BACKEND_ERROR", message: "vLLM returned 500" });
 * ```
 */
export const RelayErrorBody = z.strictObject({
  code: z.enum(errorCodeNames),
  message: z.string().max(4096),
  detail: z.string().max(4096).optional(),
});

/** A parsed {@link RelayErrorBody}. */
export type RelayErrorBody = z.infer<typeof RelayErrorBody>;

/**
 * The outcome of a relay: served (`ok`) or refused/failed with an error body (`error`).
 *
 * @example
 * ```ts
 * RelayOutcome.parse("ok");
 * ```
 */
export const RelayOutcome = z.enum(["ok", "error"]);

/** A parsed {@link RelayOutcome}. */
export type RelayOutcome = z.infer<typeof RelayOutcome>;
