import { join } from "node:path";
import { hostRewritingProxy } from "@pocket-ai/vitest-config/host-rewriting-proxy";
import Database from "better-sqlite3";
import { Effect } from "effect";
import type { APIError } from "openai";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  startTestGateway,
  TEST_ADMIN_TOKEN,
  type TestGateway,
} from "../../test/support/gateway-test-harness.js";
import { runAdminCommand } from "../app/admin-cli.js";
import { cookiesAreSecure } from "./portal-app.js";

/** A browser in miniature: keeps cookies, follows nothing, reads the page's CSRF field. */
class Browser {
  readonly jar = new Map<string, string>();
  lastSetCookies: string[] = [];
  constructor(readonly base: string) {}

  async request(
    path: string,
    init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {},
  ) {
    const headers: Record<string, string> = { ...init.headers };
    if (this.jar.size > 0) headers.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join("; ");
    let body: string | undefined;
    if (init.form !== undefined) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(`${this.base}${path}`, {
      method: init.method ?? (body === undefined ? "GET" : "POST"),
      headers,
      ...(body === undefined ? {} : { body }),
      redirect: "manual",
    });
    this.lastSetCookies = res.headers.getSetCookie();
    for (const c of this.lastSetCookies) {
      const [pair = ""] = c.split(";");
      const at = pair.indexOf("=");
      const name = pair.slice(0, at);
      const value = pair.slice(at + 1);
      if (/Max-Age=0/.test(c)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return { res, text: await res.text() };
  }

  async csrf(path: string): Promise<string> {
    const { text } = await this.request(path);
    const m = /name="csrf" value="([^"]+)"/.exec(text);
    if (m === null) throw new Error(`no CSRF field on ${path}`);
    return m[1]!;
  }

  async signup(email: string, password = "a long passphrase") {
    const csrf = await this.csrf("/portal/");
    return this.request("/portal/signup", { form: { csrf, email, password } });
  }

  async createKey(fields: Record<string, string> = {}) {
    const csrf = await this.csrf("/portal/keys");
    const { res, text } = await this.request("/portal/keys", { form: { csrf, name: "first", ...fields } });
    const secret = /pai_[0-9A-Za-z]{32}/.exec(text)?.[0];
    return { res, text, secret };
  }
}

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({
    portal: {
      passwordHash: { logN: 10 },
      signup: { perNetworkPerHour: 20 },
      // Each account's own caps at work: the daily cap on all accounts' grants has its own tests.
      // The cap written with its dollar sign, as the config allows: messages show it once.
      keys: { maxPerAccount: 2, maxBudgetUsd: "$20", selfServeUsdPerDay: null },
    },
  });
}, 30_000);
afterAll(() => t?.close());

const errorCode = (page: string) => /data-code="([A-Z_]+)"/.exec(page)?.[1];

describe("the portal over HTTP", () => {
  it("serves the landing page with a pre-session cookie and strict security headers", async () => {
    const b = new Browser(t.gateway.url);
    const { res, text } = await b.request("/portal/");
    expect(res.status).toBe(200);
    expect(text).toContain("Create your account");
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(b.lastSetCookies[0]).toMatch(/^pai_pre=[A-Za-z0-9_-]{24}; Path=\/; HttpOnly; SameSite=Lax$/);
    const root = await fetch(`${t.gateway.url}/`, { redirect: "manual" });
    expect(root.status).toBe(302);
    expect(root.headers.get("location")).toBe("/portal/");
  });

  it("refuses a form without its CSRF token, or from another site, and creates nothing", async () => {
    const b = new Browser(t.gateway.url);
    const csrf = await b.csrf("/portal/");
    const missing = await b.request("/portal/signup", {
      form: { email: "csrf@example.com", password: "a long passphrase" },
    });
    expect(missing.res.status).toBe(403);
    expect(errorCode(missing.text)).toBe("CSRF_REJECTED");
    const foreign = await b.request("/portal/signup", {
      form: { csrf, email: "csrf@example.com", password: "a long passphrase" },
      headers: { origin: "https://evil.example" },
    });
    expect(foreign.res.status).toBe(403);
    // A token from another browser (another pre-session cookie) does not fit this one.
    const other = new Browser(t.gateway.url);
    const otherToken = await other.csrf("/portal/");
    const swapped = await b.request("/portal/signup", {
      form: { csrf: otherToken, email: "csrf@example.com", password: "a long passphrase" },
    });
    expect(swapped.res.status).toBe(403);
    expect((await b.signup("csrf@example.com")).res.status).toBe(303); // the address was never taken
  });

  it("signs up, logs in with an opaque HttpOnly session stored hashed, and a pre-login token stops working", async () => {
    const b = new Browser(t.gateway.url);
    const preToken = await b.csrf("/portal/");
    const { res } = await b.request("/portal/signup", {
      form: { csrf: preToken, email: "ann@example.com", password: "a long passphrase" },
    });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/portal/keys?notice=welcome");
    const sessionCookie = b.lastSetCookies.find((c) => c.startsWith("pai_session="))!;
    expect(sessionCookie).toMatch(
      /^pai_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=604800$/,
    );
    const { text: keysPage } = await b.request("/portal/keys?notice=welcome");
    expect(keysPage).toContain("Your account is ready");
    expect(keysPage).toContain("ann@example.com");
    // The session's forms need the session's token: the anonymous one is refused.
    const stale = await b.request("/portal/keys", { form: { csrf: preToken, name: "x" } });
    expect(stale.res.status).toBe(403);
    expect(errorCode(stale.text)).toBe("CSRF_REJECTED");
  });

  it("creates a key shown once, which calls the API, shows in usage and its CSV, and stops on revoke", async () => {
    const b = new Browser(t.gateway.url);
    await b.signup("kim@example.com");
    const { res, secret, text } = await b.createKey({ name: "prod", rpm: "30", budget: "5" });
    expect(res.status).toBe(201);
    expect(secret).toBeDefined();
    expect(text).toContain("shown only once");
    const { text: again } = await b.request("/portal/keys");
    expect(again).not.toContain(secret!);
    expect(again).toContain("prod");
    expect(again).toMatch(/\$0 \/ \$5/);

    const openai = new OpenAI({ apiKey: secret!, baseURL: `${t.gateway.url}/v1`, maxRetries: 0 });
    const answer = await openai.chat.completions.create({
      model: "llama-2-13b",
      messages: [{ role: "user", content: "a private question" }],
      max_tokens: 5,
    });
    expect(answer.choices[0]?.message.content).toBeTruthy();

    const usage = await b.request("/portal/usage?days=7");
    expect(usage.res.status).toBe(200);
    expect(usage.text).toMatch(/<tr data-key-id="key_[0-9A-Za-z]+" data-model="llama-2-13b">/);
    expect(usage.text).not.toContain("a private question");
    expect(usage.text).toContain("<svg");
    const csv = await b.request("/portal/usage.csv?days=7");
    expect(csv.res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(csv.res.headers.get("content-disposition")).toMatch(/^attachment; filename="usage-/);
    const [header, row] = csv.text.split("\r\n");
    expect(header).toBe(
      "day,key_id,key_name,model,requests,failed,input_tokens,output_tokens,images,spent_micro_usd",
    );
    expect(row).toMatch(/^\d{4}-\d{2}-\d{2},key_\w+,prod,llama-2-13b,1,0,\d+,\d+,0,750$/);

    const keyId = /data-key-id="(key_[0-9A-Za-z]+)"/.exec(again)![1]!;
    const csrf = await b.csrf("/portal/keys");
    const revoked = await b.request(`/portal/keys/${keyId}/revoke`, { form: { csrf } });
    expect(revoked.res.status).toBe(303);
    const refused = await openai.chat.completions
      .create({ model: "llama-2-13b", messages: [{ role: "user", content: "again" }], max_tokens: 5 })
      .then(
        () => undefined,
        (e: APIError) => e,
      );
    expect(refused?.status).toBe(401);
  });

  it("enforces the limits a customer sets on a key at the API: requests per minute and budget", async () => {
    const b = new Browser(t.gateway.url);
    await b.signup("max@example.com");
    const call = (secret: string) =>
      new OpenAI({ apiKey: secret, baseURL: `${t.gateway.url}/v1`, maxRetries: 0 }).chat.completions
        .create({ model: "llama-2-13b", messages: [{ role: "user", content: "hi" }], max_tokens: 3 })
        .then(
          () => ({ status: 200, code: undefined }),
          (e: APIError) => ({ status: e.status, code: (e.error as { code?: string } | undefined)?.code }),
        );
    // One request a minute: the second within the minute is refused.
    const slow = await b.createKey({ name: "one a minute", rpm: "1" });
    expect(await call(slow.secret!)).toEqual({ status: 200, code: undefined });
    expect(await call(slow.secret!)).toMatchObject({ status: 429, code: "RATE_LIMITED" });
    // $0.001 buys one call at $0.00075: the second is refused for the budget.
    const small = await b.createKey({ name: "small budget", budget: "0.001" });
    expect(await call(small.secret!)).toEqual({ status: 200, code: undefined });
    expect(await call(small.secret!)).toMatchObject({ status: 402, code: "BUDGET_EXHAUSTED" });
  });

  it("lets a customer turn quality checks on their traffic off and on again", async () => {
    const b = new Browser(t.gateway.url);
    await b.signup("ola@example.com");
    const { text: before } = await b.request("/portal/keys");
    expect(before).toContain("Quality checks on your traffic");
    expect(before).toContain("Turn quality checks off");
    const off = await b.request("/portal/organic-checks", {
      form: { csrf: await b.csrf("/portal/keys"), enabled: "false" },
    });
    expect(off.res.status).toBe(303);
    const { text: after } = await b.request("/portal/keys?notice=organic-off");
    expect(after).toContain("Quality checks are off");
    expect(after).toContain("Turn quality checks on");
    const bad = await b.request("/portal/organic-checks", {
      form: { csrf: await b.csrf("/portal/keys"), enabled: "maybe" },
    });
    expect(errorCode(bad.text)).toBe("INVALID_REQUEST");
    const stale = await b.request("/portal/organic-checks", { form: { csrf: "x", enabled: "true" } });
    expect(errorCode(stale.text)).toBe("CSRF_REJECTED");
    await b.request("/portal/organic-checks", {
      form: { csrf: await b.csrf("/portal/keys"), enabled: "true" },
    });
    expect((await b.request("/portal/keys")).text).toContain("Turn quality checks off");
  });

  it("edits limits within the operator's caps, and keeps one account out of another's keys", async () => {
    const b = new Browser(t.gateway.url);
    await b.signup("lee@example.com");
    const { text } = await b.createKey({ name: "capped" });
    expect(text).toMatch(/\$0 \/ \$20/); // no budget asked: the portal's cap applies
    const over = await b.createKey({ name: "big", budget: "100" });
    expect(over.res.status).toBe(400);
    expect(over.text).toContain("at most $20 per key");
    await b.createKey({ name: "second" });
    const third = await b.createKey({ name: "third" });
    expect(errorCode(third.text)).toBe("KEY_LIMIT_REACHED");

    const keyId = /data-key-id="(key_[0-9A-Za-z]+)"/.exec((await b.request("/portal/keys")).text)![1]!;
    const csrf = await b.csrf("/portal/keys");
    const saved = await b.request(`/portal/keys/${keyId}`, {
      form: { csrf, name: "renamed", rpm: "12", tpm: "", budget: "3" },
    });
    expect(saved.res.status).toBe(303);
    expect((await b.request("/portal/keys")).text).toContain("renamed");

    const intruder = new Browser(t.gateway.url);
    await intruder.signup("mallory@example.com");
    const token = await intruder.csrf("/portal/keys");
    const stolen = await intruder.request(`/portal/keys/${keyId}/revoke`, { form: { csrf: token } });
    expect(stolen.res.status).toBe(404);
    expect(errorCode(stolen.text)).toBe("PAGE_NOT_FOUND");
    expect((await b.request("/portal/keys")).text).toMatch(/data-status="active"/);
  });

  it("holds an account's keys together to the portal's cap: revoking a spent key opens no new budget", async () => {
    const b = new Browser(t.gateway.url);
    await b.signup("rex@example.com");
    const keyIds = async () =>
      [...(await b.request("/portal/keys")).text.matchAll(/data-key-id="(key_[0-9A-Za-z]+)"/g)].map(
        (m) => m[1]!,
      );
    const revoke = async (keyId: string) =>
      b.request(`/portal/keys/${keyId}/revoke`, { form: { csrf: await b.csrf("/portal/keys") } });
    // Two keys of $20 each: the account's $40 is held.
    await b.createKey({ name: "a" });
    const [first] = await keyIds();
    await b.createKey({ name: "b" });
    const second = (await keyIds()).find((id) => id !== first)!;
    // An unspent key revoked gives its budget back; one that spent keeps what it spent.
    await revoke(second);
    const spender = await b.createKey({ name: "spender", budget: "0.001" });
    await new OpenAI({
      apiKey: spender.secret!,
      baseURL: `${t.gateway.url}/v1`,
      maxRetries: 0,
    }).chat.completions.create({
      model: "llama-2-13b",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 3,
    });
    const spent = (await keyIds()).find((id) => id !== first && id !== second)!;
    await revoke(spent);
    const over = await b.createKey({ name: "c", budget: "20" });
    expect(over.res.status).toBe(409);
    expect(errorCode(over.text)).toBe("ACCOUNT_BUDGET_REACHED");
    expect(over.text).toContain("$19.99925 is left");
    // With no budget asked, a new key gets what is left.
    const rest = await b.createKey({ name: "c" });
    expect(rest.res.status).toBe(201);
    expect(rest.text).toMatch(/\$0 \/ \$19\.99925/);
  });

  it("keeps the console for administrators; the operator grants the role with the admin token", async () => {
    const b = new Browser(t.gateway.url);
    await b.signup("ops@example.com");
    const denied = await b.request("/portal/admin/settlement");
    expect(denied.res.status).toBe(403);
    expect(errorCode(denied.text)).toBe("ADMIN_REQUIRED");
    expect(denied.text).not.toMatch(/at .*\.ts:\d+/);
    const anonymous = await new Browser(t.gateway.url).request("/portal/admin/nodes");
    expect(anonymous.res.status).toBe(303);
    expect(anonymous.res.headers.get("location")).toBe(
      "/portal/login?notice=login&next=%2Fportal%2Fadmin%2Fnodes",
    );
    const loginForm = (await b.request("/portal/login?next=%2Fportal%2Fusage")).text;
    expect(loginForm).toContain('action="/portal/login?next=%2Fportal%2Fusage"');
    const offsite = (await b.request("/portal/login?next=https%3A%2F%2Fevil.example")).text;
    expect(offsite).toContain('action="/portal/login"');

    // The operator's CLI: `pocket-gateway admin portal-admin ops@example.com`.
    const api = { url: t.gateway.trpcUrl, token: TEST_ADMIN_TOKEN };
    const printed = await Effect.runPromise(runAdminCommand(["portal-admin", "ops@example.com"], api));
    expect(printed).toMatch(/ops@example\.com\s+admin/);
    const unknown = await Effect.runPromiseExit(runAdminCommand(["portal-admin", "nobody@example.com"], api));
    expect(String(unknown)).toContain("No portal account nobody@example.com");
    for (const page of ["nodes", "traffic", "settlement"]) {
      const { res, text } = await b.request(`/portal/admin/${page}`);
      expect(res.status, page).toBe(200);
      expect(text).toContain('<span class="badge">operator</span>');
    }
    const csrf = await b.csrf("/portal/admin/settlement");
    const set = await b.request("/portal/admin/settlement/rate", {
      form: { csrf, week: "2030-W10", usdPerPokt: "0.40" },
    });
    expect(set.res.status).toBe(303);
    const rates = await t.admin.admin.settlement.rates.list.query();
    expect(rates.find((r) => r.weekId === "2030-W10")?.rateMicroUsdPerPokt).toBe(400_000);
    const csv = await b.request("/portal/admin/tally.csv?week=2030-W10");
    expect(csv.text.split("\r\n")[0]).toContain("minted_upokt,charged_upokt,burned_upokt");
    const bad = await b.request("/portal/admin/settlement/rate", {
      form: { csrf, week: "2030-W10", usdPerPokt: "-1" },
    });
    expect(bad.res.status).toBe(400);
    expect(errorCode(bad.text)).toBe("INVALID_REQUEST");
  });

  it("pages through the nodes the gateway forgot, from a link on the Nodes page, escaped", async () => {
    // Rows of nodes quiet for over routing.forgetNodesAfterMs (1 h), as the table keeps them.
    const quietSince = Date.now() - 2 * 3_600_000;
    const db = new Database(join(t.config.dataDir, "gateway.sqlite"));
    try {
      const insert = db.prepare(`insert into nodes
        (address, public_key, endpoint, operator, announcement, registered_at, last_announced_at, status)
        values (?, '02', ?, ?, '{}', 0, ?, ?)`);
      for (let i = 0; i < 52; i++)
        insert.run(
          `pokt1forgotten${String(i).padStart(3, "0")}`,
          `http://127.0.0.1:${40_000 + i}/trpc`,
          i === 0 ? `"><img src=x onerror=alert(1)>` : null,
          quietSince - i * 1_000,
          i === 1 ? "removed" : "active",
        );
    } finally {
      db.close();
    }
    const b = new Browser(t.gateway.url);
    await b.signup("forgetful-ops@example.com");
    const api = { url: t.gateway.trpcUrl, token: TEST_ADMIN_TOKEN };
    await Effect.runPromise(runAdminCommand(["portal-admin", "forgetful-ops@example.com"], api));
    const nodes = await b.request("/portal/admin/nodes");
    expect(nodes.text).toContain('<a href="/portal/admin/nodes/forgotten" id="forgotten-link">');
    expect(nodes.text).not.toContain("pokt1forgotten");

    const listed = (text: string) => [...text.matchAll(/data-node="(pokt1forgotten\d+)"/g)].map((m) => m[1]);
    const first = await b.request("/portal/admin/nodes/forgotten");
    expect(first.res.status).toBe(200);
    // Newest announcement first, 50 to a page.
    expect(listed(first.text)).toEqual(
      Array.from({ length: 50 }, (_, i) => `pokt1forgotten${String(i).padStart(3, "0")}`),
    );
    expect(first.text).not.toContain("<img");
    expect(first.text).toContain("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
    expect(first.text).toContain("its endpoint answered as another node");
    const next = /href="([^"]+)" id="forgotten-next"/.exec(first.text)?.[1]?.replaceAll("&amp;", "&");
    expect(next).toBe(`/portal/admin/nodes/forgotten?at=${quietSince - 49_000}&address=pokt1forgotten049`);
    const second = await b.request(next!);
    expect(listed(second.text)).toEqual(["pokt1forgotten050", "pokt1forgotten051"]);
    expect(second.text).not.toContain('id="forgotten-next"');

    const altered = await b.request("/portal/admin/nodes/forgotten?at=soon&address=pokt1forgotten049");
    expect(altered.res.status).toBe(400);
    expect(errorCode(altered.text)).toBe("INVALID_REQUEST");
    const customer = new Browser(t.gateway.url);
    await customer.signup("not-ops@example.com");
    const denied = await customer.request("/portal/admin/nodes/forgotten");
    expect(denied.res.status).toBe(403);
    expect(errorCode(denied.text)).toBe("ADMIN_REQUIRED");
  });

  it("logs out (the session is gone server-side), and logs back in", async () => {
    const b = new Browser(t.gateway.url);
    await b.signup("out@example.com");
    const sessionId = b.jar.get("pai_session")!;
    const csrf = await b.csrf("/portal/keys");
    const out = await b.request("/portal/logout", { form: { csrf } });
    expect(out.res.status).toBe(303);
    expect(b.jar.has("pai_session")).toBe(false);
    const replay = await fetch(`${t.gateway.url}/portal/keys`, {
      headers: { cookie: `pai_session=${sessionId}` },
      redirect: "manual",
    });
    expect(replay.status).toBe(303);
    const token = await b.csrf("/portal/login");
    const wrong = await b.request("/portal/login", {
      form: { csrf: token, email: "out@example.com", password: "not it at all" },
    });
    expect(wrong.res.status).toBe(401);
    expect(errorCode(wrong.text)).toBe("LOGIN_FAILED");
    const back = await b.request("/portal/login", {
      form: { csrf: token, email: "out@example.com", password: "a long passphrase" },
    });
    expect(back.res.status).toBe(303);
    expect(back.res.headers.get("location")).toBe("/portal/keys");
  });

  it("ends the session a log-in or sign-up replaces in the same browser", async () => {
    const b = new Browser(t.gateway.url);
    await b.signup("first@example.com");
    const first = b.jar.get("pai_session")!;
    const opens = async (sessionId: string) =>
      (
        await fetch(`${t.gateway.url}/portal/keys`, {
          headers: { cookie: `pai_session=${sessionId}` },
          redirect: "manual",
        })
      ).status === 200;
    expect(await opens(first)).toBe(true);
    // Logged in, the browser signs up another account: the first session's id is gone from it.
    await b.signup("second@example.com");
    const second = b.jar.get("pai_session")!;
    expect(second).not.toBe(first);
    expect(await opens(first)).toBe(false);
    // And logs in to the first account again over the second one's session.
    const login = await b.request("/portal/login", {
      form: {
        csrf: await b.csrf("/portal/login"),
        email: "first@example.com",
        password: "a long passphrase",
      },
    });
    expect(login.res.status).toBe(303);
    expect(await opens(second)).toBe(false);
    expect(await opens(b.jar.get("pai_session")!)).toBe(true);
  });

  it("changes the password only with the session's token and the current password, and ends the other sessions", async () => {
    const b = new Browser(t.gateway.url);
    await b.signup("pw@example.com");
    const elsewhere = new Browser(t.gateway.url);
    const login = await elsewhere.request("/portal/login", {
      form: {
        csrf: await elsewhere.csrf("/portal/login"),
        email: "pw@example.com",
        password: "a long passphrase",
      },
    });
    expect(login.res.status).toBe(303);
    const account = await b.request("/portal/account");
    expect(account.res.status).toBe(200);
    expect(account.text).toContain("logged in in 1 other browser");
    const form = {
      current: "a long passphrase",
      password: "a new long passphrase",
      confirm: "a new long passphrase",
    };
    // Without the token, with another session's, or from another site: refused, nothing changes.
    const missing = await b.request("/portal/account/password", { form });
    expect(errorCode(missing.text)).toBe("CSRF_REJECTED");
    const swapped = await b.request("/portal/account/password", {
      form: { ...form, csrf: await elsewhere.csrf("/portal/account") },
    });
    expect(errorCode(swapped.text)).toBe("CSRF_REJECTED");
    const csrf = await b.csrf("/portal/account");
    const foreign = await b.request("/portal/account/password", {
      form: { ...form, csrf },
      headers: { origin: "https://evil.example" },
    });
    expect(errorCode(foreign.text)).toBe("CSRF_REJECTED");
    const wrong = await b.request("/portal/account/password", {
      form: { ...form, csrf, current: "not my passphrase" },
    });
    expect(wrong.res.status).toBe(403);
    expect(errorCode(wrong.text)).toBe("WRONG_PASSWORD");
    const weak = await b.request("/portal/account/password", {
      form: { csrf, current: "a long passphrase", password: "short", confirm: "short" },
    });
    expect(weak.res.status).toBe(400);
    expect(errorCode(weak.text)).toBe("WEAK_PASSWORD");
    const differ = await b.request("/portal/account/password", {
      form: { ...form, csrf, confirm: "a typo" },
    });
    expect(errorCode(differ.text)).toBe("INVALID_REQUEST");
    expect((await elsewhere.request("/portal/keys")).res.status).toBe(200);
    // Nothing of the form is echoed back into the page.
    for (const page of [wrong.text, weak.text, differ.text])
      expect(page).not.toContain("a new long passphrase");

    const before = b.jar.get("pai_session")!;
    const changed = await b.request("/portal/account/password", { form: { ...form, csrf } });
    expect(changed.res.status).toBe(303);
    expect(changed.res.headers.get("location")).toBe("/portal/account?notice=password-changed");
    const after = b.jar.get("pai_session")!;
    expect(after).not.toBe(before);
    expect((await b.request("/portal/keys")).res.status).toBe(200);
    expect((await elsewhere.request("/portal/keys")).res.status).toBe(303);
    const replay = await fetch(`${t.gateway.url}/portal/keys`, {
      headers: { cookie: `pai_session=${before}` },
      redirect: "manual",
    });
    expect(replay.status).toBe(303);
  });

  it("signs out everywhere else with the account page's button, keeping this browser", async () => {
    const b = new Browser(t.gateway.url);
    await b.signup("away@example.com");
    const others = [new Browser(t.gateway.url), new Browser(t.gateway.url)];
    for (const o of others)
      await o.request("/portal/login", {
        form: {
          csrf: await o.csrf("/portal/login"),
          email: "away@example.com",
          password: "a long passphrase",
        },
      });
    expect((await b.request("/portal/account")).text).toContain("logged in in 2 other browsers");
    const refused = await b.request("/portal/account/sessions/end-others", { form: {} });
    expect(errorCode(refused.text)).toBe("CSRF_REJECTED");
    const ended = await b.request("/portal/account/sessions/end-others", {
      form: { csrf: await b.csrf("/portal/account") },
    });
    expect(ended.res.status).toBe(303);
    expect(ended.res.headers.get("location")).toBe("/portal/account?notice=sessions-ended");
    for (const o of others) expect((await o.request("/portal/keys")).res.status).toBe(303);
    const page = await b.request("/portal/account?notice=sessions-ended");
    expect(page.res.status).toBe(200);
    expect(page.text).toContain("logged in in no other browser");
  });

  it("logs out with the header's button from an error page", async () => {
    const b = new Browser(t.gateway.url);
    await b.signup("lost@example.com");
    const sessionId = b.jar.get("pai_session")!;
    // A customer on a page that is not there, or is the operator's: the header still offers log-out.
    for (const path of ["/portal/nothing-here", "/portal/admin/nodes"]) {
      const { res, text } = await b.request(path);
      expect([403, 404]).toContain(res.status);
      expect(text).toContain('action="/portal/logout"');
    }
    const out = await b.request("/portal/logout", { form: { csrf: await b.csrf("/portal/nothing-here") } });
    expect(errorCode(out.text)).toBeUndefined();
    expect(out.res.status).toBe(303);
    const replay = await fetch(`${t.gateway.url}/portal/keys`, {
      headers: { cookie: `pai_session=${sessionId}` },
      redirect: "manual",
    });
    expect(replay.status).toBe(303);
  });

  it("answers unknown pages and wrong methods with a code, never a stack trace", async () => {
    const b = new Browser(t.gateway.url);
    const missing = await b.request("/portal/nothing-here");
    expect(missing.res.status).toBe(404);
    expect(errorCode(missing.text)).toBe("PAGE_NOT_FOUND");
    // A HEAD is answered as its GET is: a page that needs a session sends to the log-in page.
    const head = await b.request("/portal/keys", { method: "HEAD" });
    expect(head.res.status).toBe(303);
    expect(head.res.headers.get("location")).toBe("/portal/login?notice=login&next=%2Fportal%2Fkeys");
    const wrongMethod = await b.request("/portal/keys", { method: "DELETE" });
    expect(wrongMethod.res.status).toBe(400);
    const garbage = await b.request("/portal/signup", {
      method: "POST",
      headers: { "content-type": "application/json" },
    });
    expect([400, 403]).toContain(garbage.res.status);
    for (const text of [missing.text, wrongMethod.text, garbage.text])
      expect(text).not.toMatch(/node_modules|\.ts:\d+|Error:/);
    const catalog = await b.request("/portal/catalog");
    expect(catalog.res.status).toBe(200);
    expect(catalog.text).toContain("quality-gpt-3.5");
    expect(catalog.text).toContain(`${t.gateway.url}/v1`);
  });
});

describe("the portal behind https", () => {
  it("decides Secure cookies from the config, and from an https public URL when set to auto", () => {
    expect(cookiesAreSecure("auto", "https://portal.example")).toBe(true);
    expect(cookiesAreSecure("auto", "http://127.0.0.1:8080")).toBe(false);
    expect(cookiesAreSecure("auto", undefined)).toBe(false);
    expect(cookiesAreSecure(true, undefined)).toBe(true);
    expect(cookiesAreSecure(false, "https://portal.example")).toBe(false);
  });

  it("counts a sign-up by X-Forwarded-For only on a connection from a proxy's address", async () => {
    const signUps = async (proxyAddresses: string[]) => {
      const g = await startTestGateway({
        portal: {
          passwordHash: { logN: 10 },
          signup: { perNetworkPerHour: 1 },
          trustProxy: 1,
          proxyAddresses,
        },
      });
      try {
        const codes: (string | undefined)[] = [];
        for (const [i, forwarded] of ["203.0.113.1", "203.0.113.2"].entries()) {
          const b = new Browser(g.gateway.url);
          const csrf = await b.csrf("/portal/");
          const { res, text } = await b.request("/portal/signup", {
            form: { csrf, email: `net${i}@example.com`, password: "a long passphrase" },
            headers: { "x-forwarded-for": forwarded },
          });
          codes.push(res.status === 303 ? "ok" : errorCode(text));
        }
        return codes;
      } finally {
        await g.close();
      }
    };
    // The test's connections come from loopback: a proxy's address by default, so each sign-up
    // counts against the network its proxy names.
    expect(await signUps(["127.0.0.0/8", "::1/128"])).toEqual(["ok", "ok"]);
    // A proxy elsewhere: loopback is a client that reached the gateway directly, whatever it says.
    expect(await signUps(["192.0.2.10"])).toEqual(["ok", "SIGNUP_LIMITED"]);
  });

  it("sets Secure __Host- cookies when cookies are secure", async () => {
    const secure = await startTestGateway({ portal: { secureCookies: true, passwordHash: { logN: 10 } } });
    try {
      const res = await fetch(`${secure.gateway.url}/portal/`);
      expect(res.headers.getSetCookie()[0]).toMatch(
        /^__Host-pai_pre=[A-Za-z0-9_-]{24}; Path=\/; HttpOnly; SameSite=Lax; Secure$/,
      );
    } finally {
      await secure.close();
    }
  });
});

describe("the portal behind a reverse proxy that rewrites Host", () => {
  it("takes the forms a browser sends from the portal's own pages, and still refuses another site's", async () => {
    const proxy = await hostRewritingProxy(t.gateway.url);
    try {
      // What Chromium sends with a form posted from the page it loaded through the proxy.
      const sameOrigin = { origin: proxy.url, "sec-fetch-site": "same-origin" };
      const b = new Browser(proxy.url);
      const csrf = await b.csrf("/portal/");
      const signup = await b.request("/portal/signup", {
        form: { csrf, email: "proxied@example.com", password: "a long passphrase" },
        headers: sameOrigin,
      });
      expect(errorCode(signup.text)).toBeUndefined();
      expect(signup.res.status).toBe(303);
      const created = await b.request("/portal/keys", {
        form: { csrf: await b.csrf("/portal/keys"), name: "through the proxy" },
        headers: sameOrigin,
      });
      expect(created.res.status).toBe(201);
      expect(created.text).toMatch(/pai_[0-9A-Za-z]{32}/);
      const foreign = await b.request("/portal/keys", {
        form: { csrf: await b.csrf("/portal/keys"), name: "forged" },
        headers: { origin: "https://evil.example", "sec-fetch-site": "cross-site" },
      });
      expect(foreign.res.status).toBe(403);
      expect(errorCode(foreign.text)).toBe("CSRF_REJECTED");
    } finally {
      await proxy.close();
    }
  });
});

describe("a portal page whose service call fails unexpectedly", () => {
  it("answers INTERNAL and logs the failure's name and where under an id: no stack, no folders, no SQL", async () => {
    const lines: string[] = [];
    const g = await startTestGateway(
      { portal: { passwordHash: { logN: 10 } } },
      { onLog: (line) => lines.push(line) },
    );
    try {
      const b = new Browser(g.gateway.url);
      await b.signup("broken@example.com");
      // The database loses a table under the running gateway: every key listing now fails.
      const db = new Database(join(g.config.dataDir, "gateway.sqlite"));
      db.exec("drop table api_keys");
      db.close();
      const { res, text } = await b.request("/portal/keys");
      expect(res.status).toBe(500);
      expect(errorCode(text)).toBe("INTERNAL");
      const logged = lines.filter((l) => l.includes("portal request failed"));
      expect(logged).toHaveLength(1);
      const entry = JSON.parse(logged[0]!) as Record<string, unknown>;
      expect(entry).toMatchObject({ path: "/portal/keys", error: "StorageError" });
      expect(entry.errorId).toMatch(/^[0-9a-f]{12}$/);
      expect(logged[0]).not.toMatch(/\n|\\n\s*at |api_keys|no such table/);
      expect(String(entry.at ?? "")).not.toMatch(/[/\\]/);
    } finally {
      await g.close();
    }
  });
});
