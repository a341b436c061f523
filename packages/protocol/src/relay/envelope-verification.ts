import type { z } from "zod";
import { addressMatchesPublicKey, verifyDigest } from "../crypto/index.js";
import { canonicalHash, hexToBytes } from "../encoding/index.js";
import { fail, ok, type Result } from "../errors/index.js";

/**
 * Parses untrusted input with an envelope schema. A mismatch becomes MALFORMED_ENVELOPE whose
 * detail names the first issue and whose `param` is its path (e.g. `header.sessionId`).
 */
export function parseEnvelope<T>(schema: z.ZodType<T>, input: unknown, what: string): Result<T> {
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
  if (!addressMatchesPublicKey(signer.address, signer.publicKey)) {
    return fail(
      "ADDRESS_MISMATCH",
      `${what}: ${signer.field}.address is not derived from ${signer.field}.publicKey`,
      `${signer.field}.address`,
    );
  }
  let digest: Uint8Array;
  try {
    digest = canonicalHash(unsigned);
  } catch {
    return fail("MALFORMED_ENVELOPE", `${what}: not encodable as canonical JSON`);
  }
  if (!verifyDigest(digest, hexToBytes(signer.publicKey), hexToBytes(signatureHex))) {
    return fail("INVALID_SIGNATURE", `${what}: signature does not verify for ${signer.address}`, "signature");
  }
  return ok(digest);
}
