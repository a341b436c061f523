import type { z } from "zod";
import { preparedPublicKey } from "../crypto/public-key-cache.js";
import { verifyDigestPrepared } from "../crypto/signature.js";
import { canonicalHash, hexToBytes } from "../encoding/index.js";
import { fail, ok, type Result } from "../errors/index.js";

/**
 * Parses untrusted input with an envelope schema. A mismatch becomes MALFORMED_ENVELOPE whose
 * detail names the first issue and whose `param` is its path (e.g. `header.sessionId`). `accepts`,
 * when given, is the schema's hand-written check (see `envelope-fast.ts`): an input it accepts is
 * returned as it is, without running the schema.
 */
export function parseEnvelope<T>(
  schema: z.ZodType<T>,
  input: unknown,
  what: string,
  accepts?: (input: unknown) => boolean,
): Result<T> {
  if (accepts?.(input)) return ok(input as T);
  let parsed: ReturnType<typeof schema.safeParse>;
  try {
    parsed = schema.safeParse(input);
  } catch {
    return fail("MALFORMED_ENVELOPE", `${what}: input could not be read`);
  }
  if (parsed.success) return ok(parsed.data);
  const issue = parsed.error.issues[0];
  if (issue === undefined) return fail("MALFORMED_ENVELOPE", `${what}: does not match the schema`);
  const path = issue.path.map(String).join(".");
  return fail(
    "MALFORMED_ENVELOPE",
    `${what}: ${path === "" ? "" : `${path}: `}${issue.message}`,
    path === "" ? undefined : path,
  );
}

/** The signer a signed envelope names, and where its fields sit (for error parameters). */
export interface DeclaredSigner {
  readonly address: string;
  readonly publicKey: string;
  readonly field: string;
}

/**
 * Checks that the declared address is the public key's and that `signatureHex` signs the
 * canonical hash of `unsigned`. Returns that hash (the envelope's identity) on success.
 */
export function checkEnvelopeSignature(
  unsigned: unknown,
  signatureHex: string,
  signer: DeclaredSigner,
  what: string,
): Result<Uint8Array> {
  return checkEnvelopeDigestSignature(() => canonicalHash(unsigned), signatureHex, signer, what);
}

/**
 * {@link checkEnvelopeSignature} for a caller that hashes the unsigned envelope itself (a stream
 * chunk reuses its data's encoding): `digest` is called once the signer's address has matched,
 * and a throw from it means the envelope cannot be encoded canonically.
 */
export function checkEnvelopeDigestSignature(
  digest: () => Uint8Array,
  signatureHex: string,
  signer: DeclaredSigner,
  what: string,
): Result<Uint8Array> {
  const publicKey = preparedPublicKey(signer.publicKey);
  if (publicKey === null || publicKey.address !== signer.address) {
    return fail(
      "ADDRESS_MISMATCH",
      `${what}: ${signer.field}.address is not derived from ${signer.field}.publicKey`,
      `${signer.field}.address`,
    );
  }
  let hash: Uint8Array;
  try {
    hash = digest();
  } catch {
    return fail("MALFORMED_ENVELOPE", `${what}: not encodable as canonical JSON`);
  }
  if (!verifyDigestPrepared(hash, publicKey, hexToBytes(signatureHex))) {
    return fail("INVALID_SIGNATURE", `${what}: signature does not verify for ${signer.address}`, "signature");
  }
  return ok(hash);
}
