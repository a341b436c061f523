import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { weekIdOf } from "@pocket-ai/protocol";
import { hostRewritingProxy } from "@pocket-ai/vitest-config/host-rewriting-proxy";
import OpenAI, { type APIError } from "openai";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestNetwork } from "./e2e-helpers.js";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find((p) =>
  existsSync(p),
);
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];
const OPERATOR = "operator@localnet.test";
const PASSWORD = "correct horse battery staple";

let t: Awaited<ReturnType<typeof startTestNetwork>>;
let context: BrowserContext;
let page: Page;
let profile = "";
/** Screenshots go here (POCKET_SCREENSHOTS_DIR keeps them for a person to look at). */
const shots = process.env.POCKET_SCREENSHOTS_DIR ?? mkdtempSync(join(tmpdir(), "pocket-portal-shots-"));
const taken: string[] = [];

async function screenshot(name: string) {
  const file = join(shots, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  taken.push(file);
}

/** A PNG with a real picture in it: the signature, a width and height of a page, and enough bytes to not be blank. */
function expectNonTrivialPng(file: string) {
  const bytes = readFileSync(file);
  expect(bytes.subarray(0, 8).toString("hex"), file).toBe("89504e470d0a1a0a");
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  expect(width, file).toBeGreaterThanOrEqual(800);
  expect(height, file).toBeGreaterThanOrEqual(400);
  expect(bytes.length, file).toBeGreaterThan(15_000);
}

const portal = (path = "") => `${t.net.portalUrl}${path}`;

async function signUp(email: string) {
  await page.goto(portal());
  await page.fill("#signup-email", email);
  await page.fill("#signup-password", PASSWORD);
  await page.click("#signup button[type=submit]");
}

async function logOut() {
  await page.click("header form[action='/portal/logout'] button");
  await page.waitForURL(/notice=logged-out/);
}

describe.runIf(CHROMIUM !== undefined)("the portal in headless Chromium", () => {
  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    t = await startTestNetwork();
    profile = mkdtempSync(join(tmpdir(), "pocket-portal-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM!,
      args: ARGS,
      headless: true,
      viewport: { width: 1280, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on("dialog", (dialog) => void dialog.accept());
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await t?.stop();
    if (profile !== "") rmSync(profile, { recursive: true, force: true });
    if (process.env.POCKET_SCREENSHOTS_DIR === undefined) rmSync(shots, { recursive: true, force: true });
  });

  const weekId = weekIdOf(Date.now());

  it("the operator signs up, finds the console and sets this week's POKT rate", async () => {
    await signUp(OPERATOR);
    await page.waitForURL(/\/portal\/keys/);
    await page.click("nav.main >> text=Settlement");
    await expect.poll(() => page.url()).toContain("/portal/admin/settlement");
    expect(await page.inputValue("#rate-week")).toBe(weekId);
    await page.fill("#rate-usd", "0.50");
    await page.click("#rate-form button[type=submit]");
    await page.waitForURL(/notice=rate-set/);
    expect(await page.textContent("#current-rate")).toBe("$0.5");
    await logOut();
  }, 60_000);

  let secret = "";
  it("a customer signs up, creates a key, calls the API with the openai SDK and sees the call in usage", async () => {
    await signUp("ada@example.com");
    await page.waitForURL(/\/portal\/keys\?notice=welcome/);
    expect(await page.textContent(".alert.notice")).toContain("Your account is ready");
    expect(await page.locator("nav.main >> text=Settlement").count()).toBe(0);
    await page.fill("#new-name", "my first key");
    await page.click("#create-key button[type=submit]");
    await page.waitForSelector("#new-key");
    secret = ((await page.textContent("#new-key pre")) ?? "").trim();
    expect(secret).toMatch(/^pai_[0-9A-Za-z]{32}$/);
    await screenshot("keys-new-key");

    const client = new OpenAI({ baseURL: t.net.baseUrl, apiKey: secret, maxRetries: 0 });
    const answer = await client.chat.completions.create({
      model: "llama-2-13b",
      messages: [{ role: "user", content: "What is the capital of France?" }],
      max_tokens: 12,
    });
    expect(answer.choices[0]?.message.content).toBeTruthy();

    await page.click("nav.main >> text=Usage");
    await page.waitForURL(/\/portal\/usage/);
    expect(await page.textContent("#total-requests")).toBe("1");
    expect(await page.locator("#usage tr[data-model='llama-2-13b']").count()).toBe(1);
    expect(await page.textContent("#total-spend")).toBe("$0.00075");
    expect(await page.content()).not.toContain("capital of France");
    await screenshot("usage");

    const download = page.waitForEvent("download");
    await page.click("text=Download CSV");
    const csv = readFileSync((await (await download).path())!, "utf8");
    expect(csv.split("\r\n")[1]).toMatch(/,my first key,llama-2-13b,1,0,\d+,\d+,0,750$/);
  }, 60_000);

  it("revokes the key, and the next call fails with 401", async () => {
    await page.goto(portal("keys"));
    expect(await page.content()).not.toContain(secret); // shown once
    await page.click("#keys form[action$='/revoke'] button");
    await page.waitForURL(/notice=key-revoked/);
    expect(await page.locator("#keys tr[data-status='revoked']").count()).toBe(1);
    await screenshot("keys");
    const client = new OpenAI({ baseURL: t.net.baseUrl, apiKey: secret, maxRetries: 0 });
    const refused = await client.chat.completions
      .create({ model: "llama-2-13b", messages: [{ role: "user", content: "again" }], max_tokens: 5 })
      .then(
        () => undefined,
        (e: APIError) => e,
      );
    expect(refused?.status).toBe(401);
    await page.goto(portal("catalog"));
    expect(await page.locator("[data-service='quality-gpt-3.5']").count()).toBe(1);
    await screenshot("catalog");
    await logOut();
    await screenshot("landing");
    await page.goto(portal("login"));
    await screenshot("login");
  }, 60_000);

  it("the operator sees nodes, traffic, and the tally with minted = charged = burned once the claim is proven", async () => {
    await page.goto(portal("login"));
    await page.fill("#login-email", OPERATOR);
    await page.fill("#login-password", PASSWORD);
    await page.click("form[action='/portal/login'] button[type=submit]");
    await page.waitForURL(/\/portal\/admin\/nodes/);
    expect(await page.locator("#nodes tr[data-node]").count()).toBe(3);
    await screenshot("admin-nodes");
    await page.click("nav.main >> text=Traffic");
    await page.waitForURL(/\/portal\/admin\/traffic/);
    expect(await page.locator("#traffic tr[data-service='llama-2-13b']").count()).toBeGreaterThan(0);
    await screenshot("admin-traffic");

    // The session of the call ends (3 s), the node claims and proves; reload until the tally has it.
    let proven = "";
    for (let i = 0; i < 120 && proven === ""; i++) {
      await page.goto(portal(`admin/settlement?week=${weekId}`));
      const minted = await page.textContent("#balance [data-amount='minted']");
      if (minted !== null && minted !== "0") proven = minted;
      else await page.waitForTimeout(500);
    }
    // $0.00075 per call at $0.50 per POKT: 0.0015 POKT minted, charged and burned.
    expect(proven).toBe("0.0015");
    expect(await page.textContent("#balance [data-amount='charged']")).toBe("0.0015");
    expect(await page.textContent("#balance [data-amount='burned']")).toBe("0.0015");
    expect(await page.textContent("#balance .badge")).toBe("balanced");
    await screenshot("admin-settlement");
    const download = page.waitForEvent("download");
    await page.click("text=Export CSV");
    const csv = readFileSync((await (await download).path())!, "utf8");
    expect(csv).toMatch(/,llama-2-13b,1,1,750,1500,1500,1500,/);
  }, 120_000);

  it("a customer signs up, creates a key and logs in again through a proxy that rewrites Host", async () => {
    // What nginx's `proxy_set_header Host $host` does: the port the browser used is dropped.
    const proxy = await hostRewritingProxy(t.net.portalUrl);
    const proxied = `${proxy.url}/portal/`;
    try {
      await context.clearCookies();
      await page.goto(proxied);
      await page.fill("#signup-email", "proxied@example.com");
      await page.fill("#signup-password", PASSWORD);
      await page.click("#signup button[type=submit]");
      await page.waitForLoadState();
      expect(await page.locator("[data-code]").allTextContents()).toEqual([]);
      await page.waitForURL(/\/portal\/keys/);
      await page.fill("#new-name", "behind the proxy");
      await page.click("#create-key button[type=submit]");
      expect(await page.textContent("#new-key")).toMatch(/pai_[0-9A-Za-z]{32}/);
      await logOut();
      await page.goto(`${proxied}login`);
      await page.fill("#login-email", "proxied@example.com");
      await page.fill("#login-password", PASSWORD);
      await page.click("form[action='/portal/login'] button[type=submit]");
      await page.waitForURL(/\/portal\/keys/);
    } finally {
      await proxy.close();
    }
  }, 60_000);

  it("a customer changes the password: another browser logged in loses its session, the old password stops working", async () => {
    const NEW_PASSWORD = "a brand new passphrase";
    const logIn = async (p: Page, password: string) => {
      await p.goto(portal("login"));
      await p.fill("#login-email", "pat@example.com");
      await p.fill("#login-password", password);
      await p.click("form[action='/portal/login'] button[type=submit]");
      await p.waitForLoadState();
    };
    await context.clearCookies();
    await signUp("pat@example.com");
    await page.waitForURL(/\/portal\/keys/);
    // A second browser, cookies of its own, logged in to the same account.
    const browser = await chromium.launch({ executablePath: CHROMIUM!, args: ARGS, headless: true });
    try {
      const other = await (await browser.newContext()).newPage();
      await logIn(other, PASSWORD);
      await other.waitForURL(/\/portal\/keys/);

      await page.click("nav.main >> text=Account");
      await page.waitForURL(/\/portal\/account/);
      expect(await page.textContent("#other-sessions")).toContain("1 other browser");
      // A wrong current password is refused with its code, and changes nothing.
      await page.fill("#current-password", "not my passphrase");
      await page.fill("#new-password", NEW_PASSWORD);
      await page.fill("#confirm-password", NEW_PASSWORD);
      await page.click("#change-password button[type=submit]");
      await page.waitForSelector("[data-code='WRONG_PASSWORD']");
      await other.goto(portal("keys"));
      expect(other.url()).toContain("/portal/keys");

      await page.fill("#current-password", PASSWORD);
      await page.fill("#new-password", NEW_PASSWORD);
      await page.fill("#confirm-password", NEW_PASSWORD);
      await page.click("#change-password button[type=submit]");
      await page.waitForURL(/notice=password-changed/);
      expect(await page.textContent("#other-sessions")).toContain("no other browser");
      await screenshot("account");
      // This browser stays logged in; the other one is sent to the log-in page.
      await page.goto(portal("keys"));
      expect(page.url()).toContain("/portal/keys");
      await other.goto(portal("keys"));
      await other.waitForURL(/\/portal\/login/);
      // The old password no longer logs in; the new one does.
      await logIn(other, PASSWORD);
      expect(await other.getAttribute("[data-code]", "data-code")).toBe("LOGIN_FAILED");
      await logIn(other, NEW_PASSWORD);
      await other.waitForURL(/\/portal\/keys/);

      // "Sign out everywhere else" ends the other browser's new session, and keeps this one.
      await page.goto(portal("account"));
      await page.click("#sessions button[type=submit]");
      await page.waitForURL(/notice=sessions-ended/);
      await other.goto(portal("keys"));
      await other.waitForURL(/\/portal\/login/);
      await page.goto(portal("keys"));
      expect(page.url()).toContain("/portal/keys");
      await logOut();
    } finally {
      await browser.close();
    }
  }, 60_000);

  it("took a non-trivial screenshot of every page", () => {
    const names = taken.map((f) => f.split("/").at(-1));
    expect(names).toEqual(
      expect.arrayContaining([
        "landing.png",
        "login.png",
        "keys.png",
        "keys-new-key.png",
        "usage.png",
        "catalog.png",
        "admin-nodes.png",
        "admin-traffic.png",
        "admin-settlement.png",
        "account.png",
      ]),
    );
    for (const file of taken) expectNonTrivialPng(file);
  });
});

if (CHROMIUM === undefined) {
  describe("the portal in headless Chromium", () => {
    console.warn("SKIPPED portal browser tests: no chromium binary (apt-get install -y chromium)");
    // CI installs Chromium and sets POCKET_REQUIRE_BROWSER: there, a missing browser is a failure.
    it.runIf(process.env.POCKET_REQUIRE_BROWSER === "1")(
      "has a Chromium binary to test the portal with",
      () => {
        expect(CHROMIUM, "POCKET_REQUIRE_BROWSER is set but no Chromium was found").toBeDefined();
      },
    );
  });
}
