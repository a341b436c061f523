import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../../test/support/gateway-test-harness.js";
import { PortalBrowser } from "../../test/support/portal-browser.js";
import { GatewayConfig } from "../config/gateway-config.js";
import { DEFAULT_MAX_KEY_BUDGET_USD, DEFAULT_SELF_SERVE_USD_PER_DAY } from "./portal-config.js";

/** The gateway's config on `overrides`, or the problems it is refused for. */
const problemsOf = (overrides: Record<string, unknown>) => {
  const parsed = GatewayConfig.safeParse(overrides);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};

describe("open sign-up on the default portal settings", () => {
  let t: TestGateway;
  beforeAll(async () => {
    // Only the password hash is cheapened: every key setting is the shipped default.
    t = await startTestGateway({ portal: { passwordHash: { logN: 10 } } });
  }, 30_000);
  afterAll(() => t?.close());

  it("gives a key made without a budget the default cap, and refuses a budget above it", async () => {
    const b = new PortalBrowser(t.gateway.url);
    const signup = await b.request("/portal/signup", {
      csrf: await b.csrf("/portal/"),
      email: "stranger@example.com",
      password: "a long passphrase",
    });
    expect(signup.res.status).toBe(303);
    const created = await b.request("/portal/keys", { csrf: await b.csrf("/portal/keys"), name: "free" });
    expect(created.res.status).toBe(201);
    expect(created.text).toContain(`$0 / $${DEFAULT_MAX_KEY_BUDGET_USD}`);
    const big = await b.request("/portal/keys", {
      csrf: await b.csrf("/portal/keys"),
      name: "big",
      budget: "1000",
    });
    expect(big.res.status).toBe(400);
    expect(big.text).toContain(`at most $${DEFAULT_MAX_KEY_BUDGET_USD} per key`);

    // The operator sees the budget the key really has, and may raise it (the caps bind customers only).
    const keys = await t.admin.admin.keys.list.query({});
    const free = keys.find((k) => k.name === "free")!;
    expect(free.budgetMicroUsd).toBe(1_000_000);
    await t.admin.admin.keys.update.mutate({ keyId: free.id, budgetMicroUsd: 50_000_000 });
    expect((await t.admin.admin.keys.list.query({})).find((k) => k.id === free.id)?.budgetMicroUsd).toBe(
      50_000_000,
    );
  }, 30_000);

  it("says nothing at start while only this machine reaches the gateway", () => {
    expect(t.logLines.join("\n")).not.toContain("portal sign-up is open");
  });
});

describe("a gateway others reach", () => {
  it("warns at start what open sign-up lets strangers spend, and how to close it", async (ctx) => {
    // Listening on this machine's own network address, port 0: reachable from its network.
    const address = Object.values(networkInterfaces())
      .flat()
      .find((i) => i?.family === "IPv4" && !i.internal)?.address;
    if (address === undefined) ctx.skip(); // no network interface but loopback: nothing others reach
    const t = await startTestGateway({
      listen: { host: address!, port: 0 },
      portal: { passwordHash: { logN: 10 }, keys: { maxBudgetUsd: "2.50", maxPerAccount: 4 } },
    });
    try {
      const warning = t.logLines
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((l) => l.msg === "portal sign-up is open to anyone who reaches this gateway");
      expect(warning).toMatchObject({
        level: "warn",
        perKeyUsd: "2.50",
        perAccountUsd: "10",
        accountsPerHour: 200,
        // $2,000 an hour of sign-ups, held to the day's cap on self-serve grants.
        selfServeUsdPerDay: DEFAULT_SELF_SERVE_USD_PER_DAY,
        atMostPerHourUsd: "50",
        atMostPerDayUsd: "50",
      });
      expect(String(warning?.settings)).toContain("portal.signup.enabled: false");
    } finally {
      await t.close();
    }
  }, 30_000);

  it("is refused with open sign-up and no budget cap; loopback only, or sign-up closed, starts", () => {
    const uncapped = { portal: { keys: { maxBudgetUsd: null } } };
    for (const reached of [
      { listen: { host: "0.0.0.0" } },
      { listen: { host: "::" } },
      { listen: { host: "10.0.3.7" } },
      { publicUrl: "https://api.example.test" },
    ]) {
      const problems = problemsOf({ ...reached, ...uncapped });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(
        /^portal\.keys\.maxBudgetUsd: with sign-up open and no budget cap, anyone who reaches .* could sign up and relay without limit at your cost: set portal\.keys\.maxBudgetUsd/,
      );
    }
    expect(problemsOf({ listen: { host: "127.0.0.1" }, ...uncapped })).toEqual([]);
    expect(
      problemsOf({ listen: { host: "localhost" }, publicUrl: "http://[::1]:8080", ...uncapped }),
    ).toEqual([]);
    expect(
      problemsOf({
        listen: { host: "0.0.0.0" },
        portal: { signup: { enabled: false }, keys: { maxBudgetUsd: null } },
      }),
    ).toEqual([]);
    expect(
      problemsOf({ listen: { host: "0.0.0.0" }, portal: { enabled: false, keys: { maxBudgetUsd: null } } }),
    ).toEqual([]);
    // No daily cap on self-serve grants: a day of sign-ups at signup.perHour from many networks.
    const noDailyCap = { portal: { keys: { selfServeUsdPerDay: null } } };
    expect(problemsOf({ listen: { host: "0.0.0.0" }, ...noDailyCap })).toEqual([
      "portal.keys.selfServeUsdPerDay: with sign-up open and no daily cap on self-serve budget, anyone who reaches 0.0.0.0 could sign up from many networks and be granted up to $48000 a day at your cost (signup.perHour × 24 × keys.maxPerAccount × keys.maxBudgetUsd): set portal.keys.selfServeUsdPerDay to a dollar amount (default 50), close sign-up (portal.signup.enabled: false) and create keys with `pocket-gateway admin keys create`, or listen on 127.0.0.1 only",
    ]);
    expect(problemsOf({ listen: { host: "127.0.0.1" }, ...noDailyCap })).toEqual([]);
    expect(
      problemsOf({
        listen: { host: "0.0.0.0" },
        portal: { signup: { enabled: false }, keys: { selfServeUsdPerDay: null } },
      }),
    ).toEqual([]);
    // The shipped default is capped, so a container's 0.0.0.0 starts on it.
    expect(problemsOf({ listen: { host: "0.0.0.0" } })).toEqual([]);
    expect(problemsOf({ portal: { keys: { defaultBudgetUsd: "5" } } })).toEqual([
      "portal.keys.defaultBudgetUsd: is more than keys.maxBudgetUsd (1): every key made without a budget would be refused; lower it or raise keys.maxBudgetUsd",
    ]);
  });
});
