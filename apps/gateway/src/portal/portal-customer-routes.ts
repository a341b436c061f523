import { Effect } from "effect";
import { Accounts } from "../accounts/accounts.js";
import type { AccountBudgetReached, SelfServeBudgetLimited } from "../accounts/errors.js";
import type { KeyCaps } from "../accounts/key-caps.js";
import type { ApiKey } from "../accounts/records.js";
import { Limits } from "../limits/limits.js";
import { usageReport } from "../metering/usage-report.js";
import { NodeRegistry } from "../registry/node-registry.js";
import { Selector } from "../routing/selector.js";
import { ScoresPoller } from "../scores/scores-poller.js";
import { formatUsd, parseUsd } from "../settlement/usd-amount.js";
import { sendDownload } from "./http-io.js";
import { catalogPage, type MeasuredNode } from "./pages/catalog.js";
import { type KeysPageData, keysPage } from "./pages/keys.js";
import { usageCsv, usagePage } from "./pages/usage.js";
import { type PortalContext, type PortalRequest, type RouteTable, requireUser } from "./portal-app.js";
import { PortalRefused, refuse } from "./portal-errors.js";

const DAY_MS = 86_400_000;
const USAGE_WINDOWS = [1, 7, 30, 90];

/** The UTC days of the last `days` days, oldest first. */
export function dayList(now: number, days: number): string[] {
  const today = Math.floor(now / DAY_MS);
  return Array.from({ length: days }, (_, i) =>
    new Date((today - days + 1 + i) * DAY_MS).toISOString().slice(0, 10),
  );
}

interface KeyForm {
  readonly name: string;
  readonly rpm: number | null;
  readonly tpm: number | null;
  readonly budgetMicroUsd: number | null;
}

/** The customer's side: keys, usage and its CSV, and the public catalog. */
export function customerRoutes(ctx: PortalContext): RouteTable {
  const { deps } = ctx;
  const limits = deps.config.keys;
  const maxBudget = limits.maxBudgetUsd === null ? undefined : parseUsd(limits.maxBudgetUsd);
  const defaultBudget = limits.defaultBudgetUsd === undefined ? undefined : parseUsd(limits.defaultBudgetUsd);
  const grantsPerDay = limits.selfServeUsdPerDay === null ? undefined : parseUsd(limits.selfServeUsdPerDay);

  const wholeNumber = (form: URLSearchParams, field: string, label: string): number | null => {
    const text = (form.get(field) ?? "").trim();
    if (text === "") return null;
    const n = Number(text);
    if (!/^[0-9]{1,10}$/.test(text) || !Number.isSafeInteger(n) || n < 1)
      throw refuse(
        "INVALID_REQUEST",
        `${label} must be a whole number of at least 1, or empty for no limit.`,
        field,
      );
    return n;
  };

  /** Reads and checks a key form against the portal's caps; `creating` applies the defaults to empty fields. */
  function keyForm(form: URLSearchParams, creating: boolean): KeyForm {
    const name = (form.get("name") ?? "").trim();
    if (name.length < 1 || name.length > 100)
      throw refuse("INVALID_REQUEST", "Give the key a name of 1 to 100 characters.", "name");
    let rpm = wholeNumber(form, "rpm", "Requests per minute");
    const tpm = wholeNumber(form, "tpm", "Tokens per minute");
    const budgetText = (form.get("budget") ?? "").trim();
    let budgetMicroUsd: number | null = null;
    if (budgetText !== "") {
      try {
        budgetMicroUsd = parseUsd(budgetText);
      } catch {
        throw refuse("INVALID_REQUEST", "Write the budget in dollars, like 5 or 12.50.", "budget");
      }
    }
    if (limits.maxRpm !== undefined) {
      if (rpm === null) rpm = limits.maxRpm;
      if (rpm > limits.maxRpm)
        throw refuse(
          "INVALID_REQUEST",
          `This portal allows at most ${limits.maxRpm} requests per minute per key.`,
          "rpm",
        );
    }
    if (budgetMicroUsd === null && creating) budgetMicroUsd = defaultBudget ?? null;
    if (maxBudget !== undefined) {
      if (budgetMicroUsd === null) budgetMicroUsd = maxBudget;
      if (budgetMicroUsd > maxBudget)
        throw refuse(
          "INVALID_REQUEST",
          `This portal allows a budget of at most $${formatUsd(maxBudget)} per key.`,
          "budget",
        );
    }
    // Only without `maxBudgetUsd` (a portal on loopback): a key with no budget would pass any daily cap.
    if (grantsPerDay !== undefined && budgetMicroUsd === null)
      throw refuse(
        "INVALID_REQUEST",
        `Give the key a budget: this portal grants at most $${formatUsd(grantsPerDay)} of key budget a day.`,
        "budget",
      );
    return { name, rpm, tpm, budgetMicroUsd };
  }

  /**
   * The caps a customer's key change is held to, checked by {@link Accounts} in the transaction that
   * writes the key: at most `maxPerAccount` active keys, and with `keys.maxBudgetUsd` the account's
   * keys together hold at most `maxPerAccount` times it (an active key its budget, a revoked one
   * what it spent, so revoking a spent key and making a new one opens no new money). A budget the
   * customer asked for must fit; a default one shrinks to what is left. With
   * `keys.selfServeUsdPerDay`, what the change grants (a new key its budget, a raise what it adds)
   * must also fit in what every account's key changes may still grant in the rolling 24 hours: a
   * bound on what open sign-up costs a day, whatever the number of accounts.
   */
  const keyCaps = (form: URLSearchParams): KeyCaps => ({
    maxActiveKeys: limits.maxPerAccount,
    maxHeldMicroUsd: maxBudget === undefined ? undefined : limits.maxPerAccount * maxBudget,
    fitBudgetToRoom: (form.get("budget") ?? "").trim() === "",
    grantsPerDay: grantsPerDay === undefined ? undefined : { maxMicroUsd: grantsPerDay, now: ctx.now() },
  });

  /** The refusals of a capped key change, as the keys page shows them. */
  const capRefusals = {
    KeyLimitReached: () => Effect.fail(refuse("KEY_LIMIT_REACHED")),
    AccountBudgetReached: (e: AccountBudgetReached) =>
      Effect.fail(
        refuse(
          "ACCOUNT_BUDGET_REACHED",
          `Your keys together may hold $${formatUsd(e.maxHeldMicroUsd)} of budget (what revoked keys spent counts); $${formatUsd(e.roomMicroUsd)} is left.`,
          "budget",
        ),
      ),
    SelfServeBudgetLimited: (e: SelfServeBudgetLimited) =>
      Effect.fail(
        refuse(
          "SELF_SERVE_BUDGET_LIMITED",
          `This portal grants its accounts together at most $${formatUsd(e.maxMicroUsd)} of key budget a day, and $${formatUsd(e.roomMicroUsd)} is left now. Try again later (grants older than 24 hours make room), or ask the portal operator to raise your key's budget.`,
          "budget",
        ),
      ),
  };

  const ownKeys = (applicationId: string) =>
    ctx.run(Effect.flatMap(Accounts, (a) => a.listKeys({ applicationId })));

  /** The key, if it belongs to the user's application; anything else is "not found". */
  async function ownKey(applicationId: string, keyId: string): Promise<ApiKey> {
    const keys = await ownKeys(applicationId);
    const key = keys.find((k) => k.id === keyId);
    if (key === undefined) throw refuse("PAGE_NOT_FOUND", "No such key in your account.");
    return key;
  }

  async function keysData(applicationId: string, created?: KeysPageData["created"]): Promise<KeysPageData> {
    const keys = await ownKeys(applicationId);
    const withUsage = await Promise.all(
      [...keys].reverse().map(async (key) => ({
        key,
        usage: await ctx.run(Effect.flatMap(Limits, (l) => l.usage(key.id))).catch(() => undefined),
      })),
    );
    return {
      keys: withUsage,
      baseUrl: "",
      maxKeys: limits.maxPerAccount,
      organicChecks: (await ctx.run(Effect.flatMap(Accounts, (a) => a.getApplication(applicationId))))
        .organicChecks,
      created,
      defaults: {
        budgetUsd: limits.defaultBudgetUsd,
        maxBudgetUsd: limits.maxBudgetUsd ?? undefined,
        maxRpm: limits.maxRpm,
      },
    };
  }

  async function showKeys(
    r: PortalRequest,
    status = 200,
    created?: KeysPageData["created"],
    error?: PortalRefused,
  ) {
    const user = requireUser(r);
    const data = { ...(await keysData(user.applicationId, created)), baseUrl: r.baseUrl };
    r.html(status, keysPage({ ...r.view, error }, data));
  }

  async function createKey(r: PortalRequest) {
    const user = requireUser(r);
    const form = await r.form();
    try {
      const input = keyForm(form, true);
      const created = await ctx.run(
        Effect.flatMap(Accounts, (a) => a.createKey(user.applicationId, input, keyCaps(form))).pipe(
          Effect.catchTags(capRefusals),
        ),
      );
      await showKeys(r, 201, { name: created.key.name, secret: created.secret });
    } catch (e) {
      if (!(e instanceof PortalRefused)) throw e;
      await showKeys(r, e.status, undefined, e);
    }
  }

  async function updateKey(r: PortalRequest, m: RegExpExecArray) {
    const user = requireUser(r);
    const form = await r.form();
    const key = await ownKey(user.applicationId, m[1]!);
    if (key.status !== "active") throw refuse("INVALID_REQUEST", "A revoked key cannot change.");
    try {
      const patch = keyForm(form, false);
      await ctx.run(
        Effect.flatMap(Accounts, (a) => a.updateKey(key.id, patch, keyCaps(form))).pipe(
          Effect.catchTags(capRefusals),
        ),
      );
      r.redirect("/portal/keys?notice=key-saved");
    } catch (e) {
      if (!(e instanceof PortalRefused)) throw e;
      await showKeys(r, e.status, undefined, e);
    }
  }

  async function setOrganicChecks(r: PortalRequest) {
    const user = requireUser(r);
    const form = await r.form();
    const enabled = form.get("enabled");
    if (enabled !== "true" && enabled !== "false")
      throw refuse("INVALID_REQUEST", "Choose whether quality checks are on or off.");
    await ctx.run(
      Effect.flatMap(Accounts, (a) => a.setOrganicChecks(user.applicationId, enabled === "true")),
    );
    r.redirect(`/portal/keys?notice=organic-${enabled === "true" ? "on" : "off"}`);
  }

  async function revokeKey(r: PortalRequest, m: RegExpExecArray) {
    const user = requireUser(r);
    await r.form();
    const key = await ownKey(user.applicationId, m[1]!);
    await ctx.run(Effect.flatMap(Accounts, (a) => a.revokeKey(key.id)));
    r.redirect("/portal/keys?notice=key-revoked");
  }

  async function usageData(r: PortalRequest) {
    const user = requireUser(r);
    const asked = Number(r.query.get("days") ?? "30");
    const days = USAGE_WINDOWS.includes(asked) ? asked : 30;
    const keys = await ownKeys(user.applicationId);
    const keyParam = r.query.get("key") ?? "";
    const keyId = keys.some((k) => k.id === keyParam) ? keyParam : undefined;
    await ctx.run(deps.flushMetering);
    const now = ctx.now();
    const from = (Math.floor(now / DAY_MS) - days + 1) * DAY_MS;
    const rows = await usageReport(
      deps.db,
      { applicationId: user.applicationId, keyId, from, to: now + 1 },
      now,
    );
    return {
      rows,
      days,
      keyId,
      keyNames: new Map(keys.map((k) => [k.id, k.name])),
      dayList: dayList(now, days),
    };
  }

  async function catalog(r: PortalRequest) {
    const data = await ctx.run(
      Effect.gen(function* () {
        const selector = yield* Selector;
        const registry = yield* NodeRegistry;
        const scores = yield* ScoresPoller;
        const now = ctx.now();
        const availability = selector.availability(now);
        const measured = new Map<string, MeasuredNode[]>();
        for (const service of deps.catalog.services) {
          const list: MeasuredNode[] =
            service.class === "model"
              ? registry
                  .list()
                  .filter((n) => n.offers.has(service.id))
                  .flatMap((n) => {
                    const s = scores.score(n.address, service.id);
                    return s === undefined ? [] : [{ address: n.address, estimate: s.overall }];
                  })
              : scores.qualifying(service.id).map((s) => ({
                  address: s.address,
                  estimate:
                    service.quality === undefined
                      ? s.overall
                      : (s.categories[service.quality.category] ?? s.overall),
                }));
          list.sort((a, b) => (b.estimate?.mean ?? 0) - (a.estimate?.mean ?? 0));
          measured.set(service.id, list);
        }
        return { availability, measured, evaluator: scores.status().evaluator };
      }),
    );
    r.html(
      200,
      catalogPage(r.view, {
        catalog: deps.catalog,
        baseUrl: r.baseUrl,
        nodesFor: (name) => data.availability.get(name)?.nodes ?? 0,
        measured: data.measured,
        evaluator: data.evaluator,
      }),
    );
  }

  return [
    ["GET", /^\/keys$/, (r) => showKeys(r)],
    ["POST", /^\/keys$/, createKey],
    ["POST", /^\/keys\/(key_[A-Za-z0-9]{1,40})$/, updateKey],
    ["POST", /^\/keys\/(key_[A-Za-z0-9]{1,40})\/revoke$/, revokeKey],
    ["POST", /^\/organic-checks$/, setOrganicChecks],
    ["GET", /^\/usage$/, async (r) => r.html(200, usagePage(r.view, await usageData(r)))],
    [
      "GET",
      /^\/usage\.csv$/,
      async (r) => {
        const data = await usageData(r);
        sendDownload(
          r.res,
          `usage-${data.dayList[0]}-${data.dayList.at(-1)}.csv`,
          "text/csv",
          usageCsv(data.rows, data.keyNames),
        );
      },
    ],
    ["GET", /^\/catalog$/, catalog],
  ];
}
