import { canonicalBytes, sha256Hex } from "../encoding/index.js";
import { SessionHeader } from "./header.js";
import { type SessionParams, sessionNumberAt, sessionWindow } from "./session-params.js";

/** Domain tag hashed into every session id, so it can never equal another protocol hash. */
export const SESSION_ID_DOMAIN = "pocket-ai/session-id/v1";

/**
 * The session id of an application's session for a service: the SHA-256 (lowercase hex) of the
 * canonical JSON `{ applicationAddress, domain: "pocket-ai/session-id/v1", serviceId,
 * sessionNumber }`. Anyone recomputes it from the header's own fields.
 *
 * @example
 * ```ts
 * deriveSessionId("pokt1app…", "llama-2-13b", 42); // 64 hex characters
 * ```
 */
export function deriveSessionId(
  applicationAddress: string,
  serviceId: string,
  sessionNumber: number,
): string {
  // Every relay of a session recomputes the same id: the last ones are remembered. The key
  // prefixes each string with its length, so two different field lists never share a key.
  const key = `${applicationAddress.length}:${applicationAddress}${serviceId.length}:${serviceId}${sessionNumber}`;
  const known = recentSessionIds.get(key);
  if (known !== undefined) return known;
  const id = sha256Hex(
    canonicalBytes({ applicationAddress, domain: SESSION_ID_DOMAIN, serviceId, sessionNumber }),
  );
  if (recentSessionIds.size >= SESSION_IDS_KEPT) recentSessionIds.clear();
  recentSessionIds.set(key, id);
  return id;
}

/** Session ids computed lately, by their fields (bounded: when full it starts over). */
const recentSessionIds = new Map<string, string>();
const SESSION_IDS_KEPT = 4_096;

/**
 * The header of the session that is current at `now` (ms or height, per the params) for an
 * application and a service. Throws `RangeError` before genesis and a zod error when the
 * application or service id is malformed.
 *
 * @example
 * ```ts
 * const params = SessionParams.parse({ mode: "time", genesisMs: 0, sessionLengthMs: 3_600_000, graceMs: 60_000 });
 * const header = deriveSessionHeader(params, "pokt1app…", "llama-2-13b", Date.now());
 * header.sessionEnd - header.sessionStart; // 3_600_000
 * ```
 */
export function deriveSessionHeader(
  params: SessionParams,
  applicationAddress: string,
  serviceId: string,
  now: number,
): SessionHeader {
  const sessionNumber = sessionNumberAt(params, now);
  const { start, end } = sessionWindow(params, sessionNumber);
  return SessionHeader.parse({
    applicationAddress,
    serviceId,
    sessionNumber,
    sessionId: deriveSessionId(applicationAddress, serviceId, sessionNumber),
    sessionStart: start,
    sessionEnd: end,
  });
}
