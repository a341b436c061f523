import { type Html, html } from "../html.js";
import { csrfField, page, type View } from "../layout.js";

export interface AccountPageData {
  /** Live sessions of the account in other browsers. */
  readonly otherSessions: number;
  readonly minPasswordLength: number;
}

/** The account page: change the password, end the sessions of other browsers. */
export function accountPage(view: View, data: AccountPageData): Html {
  const fieldError = (field: string) =>
    view.error?.field === field ? html`<div class="field-error">${view.error.message}</div>` : "";
  const others = data.otherSessions;
  return page(
    view,
    "Account",
    html`<h1>Account</h1><p class="lead">Logged in as <strong>${view.user?.email ?? ""}</strong>.</p>
<form method="post" action="/portal/account/password" class="card" id="change-password" style="max-width:480px" novalidate>
<h2 style="margin-top:0">Change your password</h2>
${csrfField(view)}
<input type="email" name="email" autocomplete="username" value="${view.user?.email ?? ""}" hidden readonly>
<div class="field"><label for="current-password">Current password</label><input type="password" id="current-password" name="current" autocomplete="current-password" required maxlength="1024">${fieldError("current")}</div>
<div class="field"><label for="new-password">New password</label><input type="password" id="new-password" name="password" autocomplete="new-password" required minlength="${data.minPasswordLength}" maxlength="1024">${fieldError("password")}<div class="hint">At least ${data.minPasswordLength} characters; a few words make a good one.</div></div>
<div class="field"><label for="confirm-password">New password again</label><input type="password" id="confirm-password" name="confirm" autocomplete="new-password" required maxlength="1024">${fieldError("confirm")}</div>
<button type="submit">Change password</button>
<div class="hint">Every other browser logged in to this account is logged out.</div>
</form>
<div class="card" id="sessions" style="max-width:480px"><h2 style="margin-top:0">Other sessions</h2>
<p id="other-sessions">${
      others === 0
        ? "This account is logged in in no other browser."
        : `This account is logged in in ${others} other ${others === 1 ? "browser" : "browsers"}.`
    }</p>
<form method="post" action="/portal/account/sessions/end-others">${csrfField(view)}<button type="submit" class="secondary">Sign out everywhere else</button></form>
<div class="hint">API keys are not sessions: they keep working until you revoke them.</div></div>`,
  );
}
