import { accountPage } from "./pages/account.js";
import { type PortalContext, type PortalRequest, type RouteTable, requireUser } from "./portal-app.js";
import { PortalRefused, refuse } from "./portal-errors.js";

/** The account page: change the password, end the other sessions. */
export function accountRoutes(ctx: PortalContext): RouteTable {
  /** The session id of a logged-in request (its user was found by it). */
  function sessionOf(r: PortalRequest): string {
    requireUser(r);
    if (r.sessionId === undefined) throw refuse("SESSION_REQUIRED");
    return r.sessionId;
  }

  async function show(r: PortalRequest, status = 200, error?: PortalRefused) {
    const user = requireUser(r);
    const otherSessions = await ctx.accounts.otherSessions(user, sessionOf(r));
    r.html(
      status,
      accountPage(
        { ...r.view, error },
        { otherSessions, minPasswordLength: ctx.deps.config.signup.minPasswordLength },
      ),
    );
  }

  async function changePassword(r: PortalRequest) {
    const user = requireUser(r);
    const form = await r.form();
    try {
      const next = form.get("password") ?? "";
      if (next !== (form.get("confirm") ?? ""))
        throw refuse("INVALID_REQUEST", "The two new passwords differ. Type the same one twice.", "confirm");
      const sessionId = await ctx.accounts.changePassword(user, {
        current: form.get("current") ?? "",
        next,
        network: ctx.networkOf(r.req),
      });
      r.redirect("/portal/account?notice=password-changed", [ctx.sessionCookieHeader(sessionId)]);
    } catch (e) {
      if (!(e instanceof PortalRefused)) throw e;
      await show(r, e.status, e);
    }
  }

  async function endOtherSessions(r: PortalRequest) {
    const user = requireUser(r);
    await r.form();
    await ctx.accounts.endOtherSessions(user, sessionOf(r));
    r.redirect("/portal/account?notice=sessions-ended");
  }

  return [
    ["GET", /^\/account$/, (r) => show(r)],
    ["POST", /^\/account\/password$/, changePassword],
    ["POST", /^\/account\/sessions\/end-others$/, endOtherSessions],
  ];
}
