import { z } from "zod";
import { HEX_64, isNat, isRecordOf, isShortString } from "../encoding/plain-values.js";

/**
 * The session header every relay is bound to: which application, which service, which session
 * (its id and its start/end, in milliseconds since the Unix epoch for time-based sessions or in
 * block heights for height-based ones). A relay whose header is not the current session of its
 * application and service is refused.
 *
 * @example
 * ```ts
 * SessionHeader.parse({
 *   applicationAddress: "pokt1...", serviceId: "llama-2-13b", sessionNumber: 42,
 *   sessionId: "ab".repeat(32), sessionStart: 1_000, sessionEnd: 2_000,
 * });
 * ```
 */
export const SessionHeader = z.strictObject({
  applicationAddress: z.string().min(1).max(128),
  serviceId: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,63}$/),
  sessionNumber: z.number().int().nonnegative(),
  sessionId: z.string().regex(/^[0-9a-f]{64}$/),
  sessionStart: z.number().int().nonnegative(),
  sessionEnd: z.number().int().nonnegative(),
});

/** A parsed {@link SessionHeader}. */
export type SessionHeader = z.infer<typeof SessionHeader>;

const SERVICE_ID = /^[a-z0-9][a-z0-9.-]{0,63}$/;
const HEADER_KEYS: ReadonlySet<string> = new Set([
  "applicationAddress",
  "serviceId",
  "sessionNumber",
  "sessionId",
  "sessionStart",
  "sessionEnd",
]);

/**
 * Whether `value` is a {@link SessionHeader} that the schema would return as it is (see
 * `relay/envelope-fast.ts`): `false` leaves the decision, and the error, to the schema.
 */
export function acceptsSessionHeader(value: unknown): value is SessionHeader {
  if (!isRecordOf(value, HEADER_KEYS)) return false;
  const { applicationAddress, serviceId, sessionNumber, sessionId, sessionStart, sessionEnd } = value;
  return (
    isShortString(applicationAddress, 128, 1) &&
    typeof serviceId === "string" &&
    SERVICE_ID.test(serviceId) &&
    isNat(sessionNumber) &&
    typeof sessionId === "string" &&
    HEX_64.test(sessionId) &&
    isNat(sessionStart) &&
    isNat(sessionEnd)
  );
}
