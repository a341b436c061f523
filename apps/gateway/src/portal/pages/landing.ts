import { type Html, html } from "../html.js";
import { csrfField, page, type View } from "../layout.js";

export function signupForm(view: View, values: { email?: string } = {}): Html {
  const fieldError = (field: string) =>
    view.error?.field === field ? html`<div class="field-error">${view.error.message}</div>` : "";
  return html`<form method="post" action="/portal/signup" class="card" id="signup" novalidate>
<h2 style="margin-top:0">Create your account</h2>
<p class="muted">No approval, no card: an API key in under a minute.</p>
${csrfField(view)}
<div class="field"><label for="signup-email">E-mail</label><input type="email" id="signup-email" name="email" autocomplete="email" required maxlength="254" value="${values.email ?? ""}">${fieldError("email")}</div>
<div class="field"><label for="signup-password">Password</label><input type="password" id="signup-password" name="password" autocomplete="new-password" required minlength="8" maxlength="1024">${fieldError("password")}<div class="hint">At least 10 characters; a few words make a good one.</div></div>
<button type="submit">Sign up</button>
<p class="muted" style="margin-bottom:0">Have an account? <a href="/portal/login">Log in</a>.</p>
</form>`;
}

export function landingPage(view: View, values: { email?: string } = {}): Html {
  const cta = view.user
    ? html`<div class="card"><h2 style="margin-top:0">Welcome back</h2><p>You are logged in as <strong>${view.user.email}</strong>.</p><p><a class="button" href="/portal/keys">Your API keys</a> <a class="button secondary" href="/portal/usage">Usage</a></p></div>`
    : signupForm(view, values);
  return page(
    view,
    "Open AI models on a permissionless network",
    html`<section class="hero"><div>
<h1>Foundation models, served by a permissionless network.</h1>
<p class="big">Call Llama&nbsp;2, Mistral and Stable Diffusion — or buy a measured quality level — through the OpenAI API you already use. Independent nodes serve every call; an evaluator measures every node.</p>
<ul class="ticks">
<li>Sign up with an e-mail address, create a key, call <code>/v1/chat/completions</code>.</li>
<li>Named models or quality levels (<code>quality-gpt-3.5</code>, <code>skill-coding</code>), each on a standard or a cheaper batch tier.</li>
<li>Per-key limits: requests and tokens per minute, and a budget in dollars.</li>
<li>Usage by key, day and model, with CSV export. Prompts and outputs are never stored.</li>
</ul>
<p><a href="/portal/catalog">See the models, prices and quality scores →</a></p>
</div><div>${cta}</div></section>`,
  );
}

export function loginPage(view: View, values: { email?: string; next?: string | undefined } = {}): Html {
  return page(
    view,
    "Log in",
    html`<div style="max-width:420px;margin:24px auto"><form method="post" action="/portal/login${values.next === undefined ? "" : `?next=${encodeURIComponent(values.next)}`}" class="card">
<h1 style="font-size:22px">Log in</h1>
${csrfField(view)}
<div class="field"><label for="login-email">E-mail</label><input type="email" id="login-email" name="email" autocomplete="username" required value="${values.email ?? ""}"></div>
<div class="field"><label for="login-password">Password</label><input type="password" id="login-password" name="password" autocomplete="current-password" required></div>
<button type="submit">Log in</button>
<p class="muted" style="margin-bottom:0">New here? <a href="/portal/#signup">Create an account</a>.</p>
</form></div>`,
  );
}

export function errorPage(view: View, title: string): Html {
  return page(
    view,
    title,
    html`<div class="card"><h1>${title}</h1><p><a href="/portal/">Back to the portal</a></p></div>`,
  );
}
