import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * CSRF tokens bound to what the browser holds: for a logged-in user, the session id (synchronizer
 * token derived from it, so nothing more is stored); before log-in, a random pre-session cookie
 * (double submit, signed so a cookie planted by a sibling domain cannot be paired with a guessed
 * token). A token is an HMAC under the portal's secret, compared in constant time.
 */
export class CsrfTokens {
  constructor(private readonly secret: Buffer) {}

  private mac(purpose: "session" | "pre", binding: string): string {
    return createHmac("sha256", this.secret).update(`${purpose}:${binding}`).digest("base64url");
  }

  /** The token for forms of the session with this (cookie) id. */
  forSession(sessionId: string): string {
    return this.mac("session", sessionId);
  }

  /** The token for anonymous forms (sign-up, log-in), bound to the pre-session cookie. */
  forPreSession(preSessionId: string): string {
    return this.mac("pre", preSessionId);
  }

  /** A fresh pre-session cookie value. */
  static newPreSessionId(): string {
    return randomBytes(18).toString("base64url");
  }

  /** Whether `token` is the one `expected` was made for (constant time; missing never matches). */
  static matches(token: string | undefined, expected: string): boolean {
    if (token === undefined || token === "") return false;
    const a = Buffer.from(token);
    const b = Buffer.from(expected);
    return a.length === b.length && timingSafeEqual(a, b);
  }
}

/**
 * A second, independent check: a browser sends `Sec-Fetch-Site` and `Origin` on form posts; a
 * request another site triggered says so. `Sec-Fetch-Site` decides when present: the browser
 * compares the origins itself, while the `Host` an `Origin` is compared with may have been
 * rewritten by a reverse proxy in front (nginx's `proxy_set_header Host $host` drops the port),
 * which would refuse every form of a page served through it. `Origin` against `Host` is the
 * check for browsers without `Sec-Fetch-Site`; requests with neither (curl) are left to the token.
 */
export function isCrossSite(headers: {
  readonly origin?: string | undefined;
  readonly host?: string | undefined;
  readonly secFetchSite?: string | undefined;
}): boolean {
  if (headers.secFetchSite !== undefined) return !["same-origin", "none"].includes(headers.secFetchSite);
  if (headers.origin !== undefined && headers.origin !== "null" && headers.host !== undefined) {
    try {
      return new URL(headers.origin).host !== headers.host;
    } catch {
      return true;
    }
  }
  return headers.origin === "null";
}
