import { fail, ok, type Result } from "../errors/index.js";
import { acceptsSessionHeader, SessionHeader } from "./header.js";
import { deriveSessionId } from "./session-id.js";
import { type SessionParams, sessionGrace, sessionNumberAt, sessionWindow } from "./session-params.js";

/**
 * Where a relay's session stands at the moment it is checked: the session is the current one, the
 * previous one still within its grace, or the next one, begun less than the grace ahead of the
 * receiver's clock (the sender's clock runs ahead).
 *
 * @example
 * ```ts
 * const phase: SessionPhase = "grace";
 * ```
 */
export type SessionPhase = "current" | "grace" | "early";

/**
 * Checks that a relay's session header is one the receiver may serve at `now` (ms or height):
 * - it parses as a {@link SessionHeader} (else `INVALID_REQUEST`);
 * - it names `expectedApp` / `expectedService` when given (else `WRONG_SESSION`);
 * - it is internally consistent: the session id recomputes from its fields and its window is the
 *   window of its session number under `params` (else `WRONG_SESSION`);
 * - its session has started, or starts within the grace (clocks of different operators differ by
 *   seconds: a gateway whose clock runs ahead signs for the next session first; a later session
 *   is `WRONG_SESSION`), and has not ended more than the grace ago (else `SESSION_EXPIRED`).
 * Returns `"current"`, `"grace"` or `"early"`. Never throws.
 *
 * @example
 * ```ts
 * const header = deriveSessionHeader(params, "pokt1app…", "llama-2-13b", now);
 * checkRelaySession(header, params, now, "pokt1app…", "llama-2-13b"); // { ok: true, value: "current" }
 * ```
 */
export function checkRelaySession(
  header: SessionHeader,
  params: SessionParams,
  now: number,
  expectedApp?: string,
  expectedService?: string,
): Result<SessionPhase> {
  let h: SessionHeader;
  if (acceptsSessionHeader(header)) h = header;
  else {
    const parsed = SessionHeader.safeParse(header);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return fail("INVALID_REQUEST", `session header: ${issue?.message ?? "invalid"}`, issue?.path.join("."));
    }
    h = parsed.data;
  }
  if (expectedApp !== undefined && h.applicationAddress !== expectedApp) {
    return fail(
      "WRONG_SESSION",
      `header is for application ${h.applicationAddress}, expected ${expectedApp}`,
      "applicationAddress",
    );
  }
  if (expectedService !== undefined && h.serviceId !== expectedService) {
    return fail(
      "WRONG_SESSION",
      `header is for service ${h.serviceId}, expected ${expectedService}`,
      "serviceId",
    );
  }
  if (deriveSessionId(h.applicationAddress, h.serviceId, h.sessionNumber) !== h.sessionId) {
    return fail(
      "WRONG_SESSION",
      "sessionId does not recompute from application, service and session number",
      "sessionId",
    );
  }
  let window: { start: number; end: number };
  try {
    window = sessionWindow(params, h.sessionNumber);
  } catch {
    return fail("WRONG_SESSION", `session ${h.sessionNumber} is out of range`, "sessionNumber");
  }
  if (window.start !== h.sessionStart || window.end !== h.sessionEnd) {
    return fail(
      "WRONG_SESSION",
      `session ${h.sessionNumber} runs [${window.start}, ${window.end}), header says [${h.sessionStart}, ${h.sessionEnd})`,
      "sessionStart",
    );
  }
  const grace = sessionGrace(params);
  if (now < window.start) {
    if (window.start - now <= grace) return ok("early");
    return fail(
      "WRONG_SESSION",
      `session ${h.sessionNumber} starts at ${window.start}; it is ${now}`,
      "sessionNumber",
    );
  }
  if (now < window.end) return ok("current");
  const graceEnd = window.end + grace;
  if (now < graceEnd) {
    return ok("grace");
  }
  const current = Number.isSafeInteger(now) ? sessionNumberAt(params, now) : Number.NaN;
  return fail(
    "SESSION_EXPIRED",
    `session ${h.sessionNumber} ended at ${window.end} and its grace at ${graceEnd}; it is ${now} (session ${current})`,
    "sessionNumber",
  );
}
