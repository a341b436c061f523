import { ErrorCodes } from "@pocket-ai/protocol";
import { type Html, html } from "./html.js";
import type { PortalRefused } from "./portal-errors.js";
import type { PortalUser } from "./portal-store.js";

/** What every page knows about the request it answers. */
export interface View {
  readonly user: PortalUser | undefined;
  /** The CSRF token for this browser's forms (session-bound, or pre-session before log-in). */
  readonly csrf: string;
  readonly path: string;
  /** A fixed message chosen by a notice id in the URL (never text from the URL). */
  readonly notice?: string | undefined;
  readonly error?: PortalRefused | undefined;
}

/** The hidden field every state-changing form carries. */
export const csrfField = (view: View) => html`<input type="hidden" name="csrf" value="${view.csrf}">`;

const NAV_PUBLIC = [{ href: "/portal/catalog", label: "Models" }];
const NAV_CUSTOMER = [
  { href: "/portal/keys", label: "API keys" },
  { href: "/portal/usage", label: "Usage" },
  { href: "/portal/account", label: "Account" },
];
const NAV_ADMIN = [
  { href: "/portal/admin/nodes", label: "Nodes" },
  { href: "/portal/admin/traffic", label: "Traffic" },
  { href: "/portal/admin/settlement", label: "Settlement" },
];

const link = (view: View, item: { href: string; label: string }) =>
  html`<a href="${item.href}" class="${view.path.startsWith(item.href) ? "active" : ""}">${item.label}</a>`;

/** An error box: the message, and the stable code in small print. */
export const errorBox = (error: PortalRefused | undefined) =>
  error === undefined
    ? ""
    : html`<div class="alert error" role="alert" data-code="${error.code}"><strong>${error.message}</strong>${
        error.detail !== undefined && error.detail !== ErrorCodes[error.code].message
          ? html`<div>${ErrorCodes[error.code].message}</div>`
          : ""
      }<div class="code">${error.code}</div></div>`;

export function page(view: View, title: string, body: Html): Html {
  const user = view.user;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} · Pocket AI</title><link rel="stylesheet" href="/portal/assets/portal.css"><script src="/portal/assets/portal.js" defer></script></head>
<body><header class="top"><div class="bar"><a class="brand" href="/portal/"><span class="dot"></span>Pocket AI</a>
<nav class="main">${NAV_PUBLIC.map((i) => link(view, i))}${user ? NAV_CUSTOMER.map((i) => link(view, i)) : ""}${
    user?.role === "admin" ? html`<span class="sep"></span>${NAV_ADMIN.map((i) => link(view, i))}` : ""
  }</nav>
<div class="who">${
    user
      ? html`<span>${user.email}</span>${user.role === "admin" ? html`<span class="badge">operator</span>` : ""}<form method="post" action="/portal/logout">${csrfField(view)}<button type="submit">Log out</button></form>`
      : html`<a href="/portal/login">Log in</a><a class="button small" href="/portal/#signup">Sign up</a>`
  }</div></div></header>
<main>${view.notice ? html`<div class="alert notice" role="status">${view.notice}</div>` : ""}${errorBox(view.error)}${body}</main>
<footer>Prompts and outputs never reach this portal: it shows counts, tokens and money only.</footer>
</body></html>`;
}
