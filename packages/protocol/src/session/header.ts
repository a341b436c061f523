import { z } from "zod";

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
