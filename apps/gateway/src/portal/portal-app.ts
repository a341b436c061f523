import { createHmac } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { codeOfFailure, internalFailureOf } from "@pocket-ai/link";
import type { Catalog, ErrorCode } from "@pocket-ai/protocol";
import type { Logger, SqlClient } from "@pocket-ai/runtime";
import { Cause, type Effect, Exit, Option, Runtime } from "effect";
import type { Accounts } from "../accounts/accounts.js";
import type { Limits } from "../limits/limits.js";
import type { RoutingServices } from "../routing/routing-services.js";
import type { SettlementServices } from "../settlement/settlement-services.js";
import { networkTag, requestNetwork } from "./client-network.js";
import { CsrfTokens, isCrossSite } from "./csrf.js";
import type { Html } from "./html.js";
import { cookieHeader, parseCookies, readForm, redirect, sendAsset, sendHtml } from "./http-io.js";
import type { View } from "./layout.js";
import { errorPage, landingPage, loginPage } from "./pages/landing.js";
import { accountRoutes } from "./portal-account-routes.js";
import { PortalAccounts } from "./portal-accounts.js";
import { adminRoutes } from "./portal-admin-routes.js";
import { PORTAL_CSS, PORTAL_JS } from "./portal-assets.js";
import type { PortalConfig } from "./portal-config.js";
import { customerRoutes } from "./portal-customer-routes.js";
import { PortalRefused, refuse } from "./portal-errors.js";
import { type PortalUser, portalStore } from "./portal-store.js";

/** The gateway services the portal works through. */
export type PortalServices = Accounts | Limits | RoutingServices | SettlementServices;

export interface PortalDeps {
  readonly config: PortalConfig;
  readonly db: SqlClient;
  readonly runtime: Runtime.Runtime<PortalServices>;
  readonly catalog: Catalog;
  /** Secret the portal's CSRF tokens and network tags are keyed with (derived from the gateway key). */
  readonly secret: Uint8Array;
  /** Writes queued relay rows, so usage pages see the latest calls. */
  readonly flushMetering: Effect.Effect<void>;
  /** The gateway's `publicUrl`, when set: quick starts show it, and https makes cookies Secure. */
  readonly publicUrl: string | undefined;
  readonly operator: string;
  readonly log: Logger;
  readonly now?: () => number;
}

const NOTICES: Record<string, string> = {
  welcome: "Your account is ready. Create your first API key below.",
  "logged-out": "You are logged out.",
  login: "Log in to continue.",
  "key-saved": "The key's name and limits are saved. They apply from the next call.",
  "key-revoked": "The key is revoked: calls with it now fail with 401 invalid_api_key.",
  "rate-set": "The week's POKT rate is set.",
  "password-changed":
    "Your password is changed. Every other browser logged in to this account is logged out; use the new password from now on.",
  "sessions-ended": "Every other browser logged in to this account is logged out. This one stays logged in.",
  "organic-on":
    "Quality checks are on: a small share of your completions and chats may be checked, never stored.",
  "organic-off": "Quality checks are off: none of your requests or answers are set aside.",
};

/** One request as the portal's routes see it. */
export interface PortalRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  /** The path after `/portal`, e.g. `/keys/key_abc/revoke` (`/` for the landing page). */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly user: PortalUser | undefined;
  /** The id of the session `user` was found by (never logged). */
  readonly sessionId: string | undefined;
  readonly view: View;
  /** Cookies to set on the answer (a new pre-session cookie). */
  readonly cookies: string[];
  readonly baseUrl: string;
  /** The form of a POST, read and CSRF-checked. */
  form(): Promise<URLSearchParams>;
  html(status: number, body: Html): void;
  redirect(location: string, extraCookies?: readonly string[]): void;
}

export interface PortalContext {
  readonly deps: PortalDeps;
  readonly accounts: PortalAccounts;
  readonly store: ReturnType<typeof portalStore>;
  readonly now: () => number;
  readonly secureCookies: boolean;
  readonly sessionCookie: string;
  /** The `Set-Cookie` header that hands a browser this session id. */
  sessionCookieHeader(sessionId: string): string;
  /** Runs a gateway service call; a coded failure becomes a {@link PortalRefused} (one already is kept as it is). */
  run<A, E>(effect: Effect.Effect<A, E, PortalServices>): Promise<A>;
  networkOf(req: IncomingMessage): string;
}

export type Route = (r: PortalRequest, match: RegExpExecArray) => Promise<void> | void;
export type RouteTable = readonly (readonly [method: string, pattern: RegExp, route: Route])[];

/**
 * The web portal under `/portal/`: server-rendered pages over the gateway's own services (accounts,
 * limits, metering, routing, settlement) and tables. Sessions are opaque random ids in HttpOnly,
 * SameSite cookies, stored hashed; every POST carries a CSRF token bound to the session (or, before
 * log-in, to a pre-session cookie); refusals render with their stable code, and nothing internal
 * (stack, path, SQL) ever reaches a page.
 */
export function makePortal(deps: PortalDeps) {
  const now = deps.now ?? Date.now;
  const secret = Buffer.from(createHmac("sha256", deps.secret).update("pocket-ai/portal/v1").digest());
  const csrf = new CsrfTokens(secret);
  const store = portalStore(deps.db);
  const networkOfRequest = requestNetwork(deps.config);
  const accounts = new PortalAccounts(deps.config, store, deps.runtime, now);
  const secureCookies =
    deps.config.secureCookies === "auto"
      ? deps.publicUrl?.startsWith("https:") === true
      : deps.config.secureCookies;
  const sessionCookie = secureCookies ? "__Host-pai_session" : "pai_session";
  const preCookie = secureCookies ? "__Host-pai_pre" : "pai_pre";
  const runPromiseExit = Runtime.runPromiseExit(deps.runtime);

  const ctx: PortalContext = {
    deps,
    accounts,
    store,
    now,
    secureCookies,
    sessionCookie,
    sessionCookieHeader: (sessionId) => sessionCookieHeader(sessionId),
    async run(effect) {
      const exit = await runPromiseExit(effect);
      if (Exit.isSuccess(exit)) return exit.value;
      const failure = Option.getOrUndefined(Cause.failureOption(exit.cause));
      if (failure instanceof PortalRefused) throw failure;
      const code: ErrorCode | undefined = codeOfFailure(failure);
      // Logged by the handler as any internal failure is: its name and where, never its words.
      if (code === undefined || code === "INTERNAL") throw Cause.squash(exit.cause);
      throw refuse(code, failure instanceof Error && failure.message !== "" ? failure.message : undefined);
    },
    networkOf: (req) => networkTag(secret, networkOfRequest(req)),
  };

  const routes: RouteTable = [
    ["GET", /^\/$/, (r) => r.html(200, landingPage(r.view))],
    ["GET", /^\/login$/, (r) => r.html(200, loginPage(r.view, { next: safeNext(r.query.get("next")) }))],
    ["POST", /^\/signup$/, signup],
    ["POST", /^\/login$/, login],
    ["POST", /^\/logout$/, logout],
    ...customerRoutes(ctx),
    ...accountRoutes(ctx),
    ...adminRoutes(ctx),
  ];

  async function signup(r: PortalRequest) {
    const form = await r.form();
    const email = form.get("email") ?? "";
    try {
      const user = await accounts.signup({
        email,
        password: form.get("password") ?? "",
        network: ctx.networkOf(r.req),
      });
      const sessionId = await accounts.openSession(user);
      await closeReplacedSession(r);
      r.redirect("/portal/keys?notice=welcome", [sessionCookieHeader(sessionId)]);
    } catch (e) {
      if (!(e instanceof PortalRefused)) throw e;
      r.html(e.status, landingPage({ ...r.view, error: e }, { email }));
    }
  }

  async function login(r: PortalRequest) {
    const form = await r.form();
    const email = form.get("email") ?? "";
    try {
      const user = await accounts.login(email, form.get("password") ?? "", ctx.networkOf(r.req));
      const sessionId = await accounts.openSession(user);
      await closeReplacedSession(r);
      const next = r.query.get("next") ?? "";
      const target = /^\/portal\/[a-z0-9/_-]*$/.test(next)
        ? next
        : user.role === "admin"
          ? "/portal/admin/nodes"
          : "/portal/keys";
      r.redirect(target, [sessionCookieHeader(sessionId)]);
    } catch (e) {
      if (!(e instanceof PortalRefused)) throw e;
      r.html(e.status, loginPage({ ...r.view, error: e }, { email, next: safeNext(r.query.get("next")) }));
    }
  }

  async function logout(r: PortalRequest) {
    // Without a live session there is nothing to end (and the page's token is for the old one).
    if (r.user !== undefined) await r.form();
    const sessionId = parseCookies(r.req.headers.cookie).get(sessionCookie);
    if (sessionId !== undefined) await accounts.closeSession(sessionId);
    r.redirect("/portal/?notice=logged-out", [
      cookieHeader(sessionCookie, "", { secure: secureCookies, maxAge: 0 }),
    ]);
  }

  /**
   * Ends the session whose cookie a new one replaces (a log-in or sign-up in a browser already
   * logged in): the browser forgets its id, so nothing could log it out any more.
   */
  async function closeReplacedSession(r: PortalRequest) {
    const previous = parseCookies(r.req.headers.cookie).get(sessionCookie);
    if (previous !== undefined) await accounts.closeSession(previous);
  }

  const sessionCookieHeader = (sessionId: string) =>
    cookieHeader(sessionCookie, sessionId, {
      secure: secureCookies,
      maxAge: deps.config.sessionHours * 3600,
    });

  function baseUrlOf(req: IncomingMessage): string {
    if (deps.publicUrl !== undefined) return `${deps.publicUrl.replace(/\/$/, "")}/v1`;
    const host = req.headers.host ?? "";
    return /^[A-Za-z0-9.:[\]-]{1,255}$/.test(host) ? `http://${host}/v1` : "http://localhost/v1";
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://portal.invalid");
    const path = url.pathname === "/portal" ? "/" : url.pathname.slice("/portal".length);
    const method = req.method === "HEAD" ? "GET" : (req.method ?? "GET");
    if (path === "/assets/portal.css") return sendAsset(res, "text/css", PORTAL_CSS);
    if (path === "/assets/portal.js") return sendAsset(res, "text/javascript", PORTAL_JS);

    const cookies = parseCookies(req.headers.cookie);
    const sessionId = cookies.get(sessionCookie);
    const user = await accounts.sessionUser(sessionId);
    const setCookies: string[] = [];
    let preSession = cookies.get(preCookie);
    if (user === undefined && (preSession === undefined || !/^[A-Za-z0-9_-]{24}$/.test(preSession))) {
      preSession = CsrfTokens.newPreSessionId();
      setCookies.push(cookieHeader(preCookie, preSession, { secure: secureCookies }));
    }
    const token =
      user !== undefined && sessionId !== undefined
        ? csrf.forSession(sessionId)
        : csrf.forPreSession(preSession ?? "");
    const noticeId = url.searchParams.get("notice") ?? "";
    const view: View = {
      user,
      csrf: token,
      path: url.pathname,
      notice: Object.hasOwn(NOTICES, noticeId) ? NOTICES[noticeId] : undefined,
    };
    let form: URLSearchParams | undefined;
    const request: PortalRequest = {
      req,
      res,
      method,
      path,
      query: url.searchParams,
      user,
      sessionId: user === undefined ? undefined : sessionId,
      view,
      cookies: setCookies,
      baseUrl: baseUrlOf(req),
      async form() {
        if (form !== undefined) return form;
        if (
          isCrossSite({
            origin: headerValue(req.headers.origin),
            host: headerValue(req.headers.host),
            secFetchSite: headerValue(req.headers["sec-fetch-site"]),
          })
        )
          throw refuse("CSRF_REJECTED");
        const read = await readForm(req);
        if (!CsrfTokens.matches(read.get("csrf") ?? undefined, token)) throw refuse("CSRF_REJECTED");
        form = read;
        return read;
      },
      html: (status, body) => sendHtml(res, status, body, setCookies),
      redirect: (location, extra = []) => redirect(res, location, [...setCookies, ...extra]),
    };

    const allowed = routes.filter(([, pattern]) => pattern.test(path));
    const found = allowed.find(([m]) => m === method);
    if (found === undefined) {
      if (allowed.length > 0)
        throw refuse("INVALID_REQUEST", `This address takes ${allowed.map(([m]) => m).join(" or ")}.`);
      throw refuse("PAGE_NOT_FOUND");
    }
    const [, pattern, route] = found;
    await route(request, pattern.exec(path)!);
    // Answer refusals inside routes with the same view (keeps the user's navigation).
  }

  /** The `/portal/*` handler for the gateway's HTTP server. */
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    serve(req, res).catch(async (e: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const sessionId = parseCookies(req.headers.cookie).get(sessionCookie);
      const user = await accounts.sessionUser(sessionId).catch(() => undefined);
      // The header's log-out form needs the session's token on an error page too.
      const token = user !== undefined && sessionId !== undefined ? csrf.forSession(sessionId) : "";
      const view: View = { user, csrf: token, path: req.url ?? "/portal/" };
      if (e instanceof PortalRefused) {
        if (e.code === "SESSION_REQUIRED" && (req.method === "GET" || req.method === "HEAD")) {
          const next = (req.url ?? "").split("?")[0] ?? "";
          redirect(res, `/portal/login?notice=login&next=${encodeURIComponent(next)}`);
          return;
        }
        sendHtml(res, e.status, errorPage({ ...view, error: e }, titleOf(e.code)));
        return;
      }
      // The failure's name and where it happened under an id, as tRPC's internal failures are logged:
      // its message may hold a caller's data, its stack the folders the gateway runs from.
      const internal = internalFailureOf(e);
      deps.log.error("portal request failed", {
        path: (req.url ?? "").split("?")[0],
        errorId: internal.errorId,
        error: internal.failureName,
        ...(internal.at === undefined ? {} : { at: internal.at }),
      });
      sendHtml(res, 500, errorPage({ ...view, error: refuse("INTERNAL") }, "Something went wrong"));
    });
  };

  return { handle, ctx };
}

const TITLES: Partial<Record<ErrorCode, string>> = {
  PAGE_NOT_FOUND: "Page not found",
  ADMIN_REQUIRED: "Operators only",
  CSRF_REJECTED: "Form expired",
  SESSION_REQUIRED: "Log in to continue",
};
const titleOf = (code: ErrorCode) => TITLES[code] ?? "Request refused";

/** A page to return to after log-in: only a portal path, so the link cannot send anyone elsewhere. */
export const safeNext = (next: string | null): string | undefined =>
  next !== null && /^\/portal\/[a-z0-9/_-]*$/.test(next) ? next : undefined;

export const headerValue = (v: string | string[] | undefined): string | undefined =>
  Array.isArray(v) ? v[0] : v;

/** The signed-in user, or a refusal that sends a browser to the log-in page. */
export function requireUser(r: PortalRequest): PortalUser {
  if (r.user === undefined) throw refuse("SESSION_REQUIRED");
  return r.user;
}

export function requireAdmin(r: PortalRequest): PortalUser {
  const user = requireUser(r);
  if (user.role !== "admin") throw refuse("ADMIN_REQUIRED");
  return user;
}

/** Whether cookies carry `Secure`: as configured, or (`auto`) when the public URL is https. */
export function cookiesAreSecure(
  setting: PortalConfig["secureCookies"],
  publicUrl: string | undefined,
): boolean {
  return setting === "auto" ? publicUrl?.startsWith("https:") === true : setting;
}
