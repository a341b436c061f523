import { isValidAddress } from "../crypto/index.js";
import { preparedPublicKey } from "../crypto/public-key-cache.js";
import { isCanonicalJson } from "../encoding/index.js";
import { HEX_64, HEX_128, isNat, isRecordOf, isShortString } from "../encoding/plain-values.js";
import { ErrorCodes } from "../errors/index.js";
import { acceptsSessionHeader } from "../session/header.js";
import { MAX_COUNTED_PROMPTS } from "./envelope-fields.js";

/**
 * Hand-written acceptance checks for the relay envelopes on the hot path (a gateway signs a request
 * and verifies a response per relay; a node verifies a request and signs a response). Each one says
 * `true` only for a value its schema accepts AND returns unchanged (a plain object with only the
 * schema's keys, every field valid, no key present with the value `undefined`); anything else
 * answers `false` and the caller runs the schema, so errors read exactly as the schema's. Being
 * stricter than the schema is allowed (the schema then decides); being looser is not, and the
 * property tests in `envelope-fast.test.ts` hold each check to its schema.
 */

const PUBLIC_KEY_HEX = /^0[23][0-9a-f]{64}$/;
const TIER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const NONCE = /^[0-9a-f]{32}$/;
const OPERATIONS: ReadonlySet<unknown> = new Set([
  "completions",
  "chat.completions",
  "images.generations",
  "images.edits",
  "embeddings",
]);
const ERROR_CODES: ReadonlySet<unknown> = new Set(Object.keys(ErrorCodes));

const SIGNER_KEYS: ReadonlySet<string> = new Set(["address", "publicKey"]);

/**
 * `RelaySignerIdentity`. An address equal to its key's (from the key cache that verification uses
 * anyway) is a valid address by construction, so bech32 is decoded only for one that is not.
 */
function isSigner(value: unknown): boolean {
  if (!isRecordOf(value, SIGNER_KEYS)) return false;
  const { address, publicKey } = value;
  return (
    typeof publicKey === "string" &&
    PUBLIC_KEY_HEX.test(publicKey) &&
    (preparedPublicKey(publicKey)?.address === address || isValidAddress(address))
  );
}

const USAGE_KEYS: ReadonlySet<string> = new Set(["inputTokens", "outputTokens", "images"]);

/** `RelayUsage`. */
function isUsage(value: unknown): boolean {
  if (!isRecordOf(value, USAGE_KEYS)) return false;
  return (
    isNat(value.inputTokens) && isNat(value.outputTokens) && (!("images" in value) || isNat(value.images))
  );
}

const ERROR_KEYS: ReadonlySet<string> = new Set(["code", "message", "detail"]);

/** `RelayErrorBody`. */
function isErrorBody(value: unknown): boolean {
  if (!isRecordOf(value, ERROR_KEYS)) return false;
  return (
    ERROR_CODES.has(value.code) &&
    isShortString(value.message, 4096) &&
    (!("detail" in value) || isShortString(value.detail, 4096))
  );
}

const INPUT_COUNT_KEYS: ReadonlySet<string> = new Set(["tokenizer", "promptTokens"]);
const TOKENIZER = /^[a-z0-9][a-z0-9._-]{0,31}$/;

/** `RelayInputCount`. */
function isInputCount(value: unknown): boolean {
  if (!isRecordOf(value, INPUT_COUNT_KEYS)) return false;
  const { tokenizer, promptTokens } = value;
  if (typeof tokenizer !== "string" || !TOKENIZER.test(tokenizer)) return false;
  if (!Array.isArray(promptTokens) || promptTokens.length < 1 || promptTokens.length > MAX_COUNTED_PROMPTS)
    return false;
  for (let i = 0; i < promptTokens.length; i++) if (!isNat(promptTokens[i])) return false;
  return true;
}

const REQUEST_KEYS: ReadonlySet<string> = new Set([
  "v",
  "header",
  "tier",
  "operation",
  "payload",
  "nonce",
  "issuedAt",
  "gateway",
  "target",
  "inputCount",
]);
const SIGNED_REQUEST_KEYS: ReadonlySet<string> = new Set([...REQUEST_KEYS, "signature"]);

/**
 * Whether `value` is an `UnsignedRelayRequest` (`signed` false) or a `RelayRequest` (`signed` true)
 * that the schema would return as it is.
 */
export function acceptsRelayRequest(value: unknown, signed: boolean): boolean {
  if (!isRecordOf(value, signed ? SIGNED_REQUEST_KEYS : REQUEST_KEYS)) return false;
  const { v, header, tier, operation, payload, nonce, issuedAt, gateway } = value;
  return (
    v === 1 &&
    typeof tier === "string" &&
    TIER.test(tier) &&
    OPERATIONS.has(operation) &&
    typeof nonce === "string" &&
    NONCE.test(nonce) &&
    isNat(issuedAt) &&
    (!signed || (typeof value.signature === "string" && HEX_128.test(value.signature))) &&
    (!("target" in value) || isValidAddress(value.target)) &&
    (!("inputCount" in value) || isInputCount(value.inputCount)) &&
    acceptsSessionHeader(header) &&
    isSigner(gateway) &&
    payload !== undefined &&
    isCanonicalJson(payload)
  );
}

const RESPONSE_KEYS: ReadonlySet<string> = new Set([
  "v",
  "requestHash",
  "header",
  "node",
  "outcome",
  "payload",
  "error",
  "usage",
  "computeUnits",
]);
const SIGNED_RESPONSE_KEYS: ReadonlySet<string> = new Set([...RESPONSE_KEYS, "signature"]);

/**
 * Whether `value` is an `UnsignedRelayResponse` (`signed` false) or a `RelayResponse` (`signed`
 * true) that the schema would return as it is: `ok` with a payload and no error, or `error` with an
 * error and no payload.
 */
export function acceptsRelayResponse(value: unknown, signed: boolean): boolean {
  if (!isRecordOf(value, signed ? SIGNED_RESPONSE_KEYS : RESPONSE_KEYS)) return false;
  const { v, requestHash, header, node, outcome, usage, computeUnits } = value;
  if (
    v !== 1 ||
    typeof requestHash !== "string" ||
    !HEX_64.test(requestHash) ||
    !isNat(computeUnits) ||
    (signed && (typeof value.signature !== "string" || !HEX_128.test(value.signature))) ||
    !isUsage(usage) ||
    !acceptsSessionHeader(header) ||
    !isSigner(node)
  ) {
    return false;
  }
  if (outcome === "ok")
    return !("error" in value) && value.payload !== undefined && isCanonicalJson(value.payload);
  if (outcome === "error") return !("payload" in value) && isErrorBody(value.error);
  return false;
}
