import type { z } from "zod";
import { type KeyPair, keyPairFromPrivateKey, signDigest } from "../crypto/index.js";
import { bytesToHex, canonicalHash } from "../encoding/index.js";

/**
 * The key an envelope is signed with: a raw 32-byte private key, or a {@link KeyPair} (preferred
 * on hot paths: its public key and address are derived once instead of per envelope).
 *
 * @example
 * ```ts
 * const key: RelaySigningKey = generateKeyPair();
 * ```
 */
export type RelaySigningKey = Uint8Array | KeyPair;

/** The key pair of a signing key, deriving it when given a raw private key. */
export function signingKeyPair(key: RelaySigningKey): KeyPair {
  return key instanceof Uint8Array ? keyPairFromPrivateKey(key) : key;
}

/**
 * Signs the canonical bytes of an unsigned envelope: the signature as hex, and the digest signed,
 * as hex — the envelope's identity (a request's or response's hash), hashed once for both.
 */
export function signEnvelope(unsigned: unknown, key: KeyPair): { signature: string; digest: string } {
  const digest = canonicalHash(unsigned);
  return { signature: bytesToHex(signDigest(digest, key.privateKey)), digest: bytesToHex(digest) };
}

/**
 * A copy of an envelope without its `signature` field: the exact value whose canonical hash is
 * signed and which identifies the envelope.
 */
export function withoutSignature<T extends object>(envelope: T): Omit<T, "signature"> {
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(envelope)) {
    if (key !== "signature") copy[key] = value;
  }
  return copy as Omit<T, "signature">;
}

/**
 * Validates an unsigned envelope against its schema (a wrong field throws a `TypeError` named after
 * `what`) and signs its canonical bytes: the signed envelope, and the digest signed (hex).
 * `accepts`, when given, is the schema's hand-written check (see `envelope-fast.ts`): an envelope it
 * accepts is signed as it is, without running the schema.
 */
export function signValidated<S extends z.ZodType<object>>(
  schema: S,
  unsigned: object,
  key: KeyPair,
  what: string,
  accepts?: (unsigned: unknown) => boolean,
): { readonly envelope: z.output<S> & { signature: string }; readonly digest: string } {
  if (accepts?.(unsigned)) {
    const { signature, digest } = signEnvelope(unsigned, key);
    return { envelope: { ...(unsigned as z.output<S>), signature }, digest };
  }
  const parsed = schema.safeParse(unsigned);
  if (!parsed.success) throw invalidFieldsError(what, parsed.error.issues);
  const { signature, digest } = signEnvelope(parsed.data, key);
  return { envelope: { ...(parsed.data as z.output<S>), signature }, digest };
}

/** Throws a `TypeError` naming the first schema issue of envelope fields a signer was given. */
export function invalidFieldsError(
  what: string,
  issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>,
) {
  const issue = issues[0];
  const path = issue === undefined ? "" : issue.path.map(String).join(".");
  return new TypeError(
    `${what}: invalid field${path === "" ? "" : ` ${path}`}: ${issue?.message ?? "schema mismatch"}`,
  );
}
