import { bytesToHex, hexToBytes, isHex, sha256 } from "../encoding/index.js";

const encoder = new TextEncoder();

/**
 * A node's draw in a session: `sha256(sessionId ‖ address)` as lowercase hex, where `sessionId`
 * is its 32 bytes and `address` its UTF-8 bytes. Lower draws are selected first. The session id
 * is fixed-length, so the concatenation is unambiguous.
 *
 * @example
 * ```ts
 * sessionNodeDraw("ab".repeat(32), "pokt1node…"); // 64 hex characters
 * ```
 */
export function sessionNodeDraw(sessionId: string, address: string): string {
  if (!isHex(sessionId, 32)) throw new TypeError("sessionNodeDraw: sessionId must be 32 bytes of hex");
  const address8 = encoder.encode(address);
  const input = new Uint8Array(32 + address8.length);
  input.set(hexToBytes(sessionId), 0);
  input.set(address8, 32);
  return bytesToHex(sha256(input));
}

/**
 * The session's nodes: the `count` candidates with the lowest {@link sessionNodeDraw}, lowest
 * first. Deterministic and recomputable by anyone who knows the session id and the candidate set.
 * The set of addresses selected does not depend on the candidates' order; duplicate addresses
 * count once (the first object carrying an address is the one returned). Returns every candidate,
 * ordered, when there are no more than `count`.
 *
 * @example
 * ```ts
 * const nodes = selectSessionNodes(header.sessionId, [{ address: "pokt1a" }, { address: "pokt1b" }], 1);
 * nodes.length; // 1
 * ```
 */
export function selectSessionNodes<T extends { readonly address: string }>(
  sessionId: string,
  candidates: readonly T[],
  count: number,
): T[] {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new RangeError(`selectSessionNodes: count must be a non-negative integer, got ${count}`);
  }
  const seen = new Set<string>();
  const drawn: { draw: string; candidate: T }[] = [];
  for (const candidate of candidates) {
    if (seen.has(candidate.address)) continue;
    seen.add(candidate.address);
    drawn.push({ draw: sessionNodeDraw(sessionId, candidate.address), candidate });
  }
  drawn.sort((a, b) => (a.draw < b.draw ? -1 : a.draw > b.draw ? 1 : 0));
  return drawn.slice(0, count).map((d) => d.candidate);
}

/**
 * Whether `address` is one of the session's `count` nodes drawn from `candidates`.
 *
 * @example
 * ```ts
 * isNodeInSession(header.sessionId, candidates, 24, "pokt1node…"); // true or false, same for everyone
 * ```
 */
export function isNodeInSession(
  sessionId: string,
  candidates: readonly { readonly address: string }[],
  count: number,
  address: string,
): boolean {
  return selectSessionNodes(sessionId, candidates, count).some((c) => c.address === address);
}
