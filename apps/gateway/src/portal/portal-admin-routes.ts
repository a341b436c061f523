import { weekIdOf } from "@pocket-ai/protocol";
import { sql } from "drizzle-orm";
import { Effect } from "effect";
import { RELAY_DAY, RELAY_TOTALS, SOLD_SERVICE, SOLD_TIER } from "../metering/usage-report.js";
import { type ForgottenCursor, NodeRegistry } from "../registry/node-registry.js";
import { Selector } from "../routing/selector.js";
import { ScoresPoller } from "../scores/scores-poller.js";
import { WEEK_ID_PATTERN } from "../settlement/claim-record.js";
import { Settlement } from "../settlement/settlement.js";
import { parseUsd } from "../settlement/usd-amount.js";
import { sendDownload } from "./http-io.js";
import { adminForgottenNodesPage, adminNodesPage, type NodeRow } from "./pages/admin-nodes.js";
import { adminSettlementPage } from "./pages/admin-settlement.js";
import { adminTrafficPage, type TrafficRow } from "./pages/admin-traffic.js";
import { type PortalContext, type PortalRequest, type RouteTable, requireAdmin } from "./portal-app.js";
import { dayList } from "./portal-customer-routes.js";
import { PortalRefused, refuse } from "./portal-errors.js";

const DAY_MS = 86_400_000;
/** Forgotten nodes one page of the console lists. */
const FORGOTTEN_PER_PAGE = 50;

/** The operator's console: nodes, traffic, settlement (administrators only). */
export function adminRoutes(ctx: PortalContext): RouteTable {
  const { deps } = ctx;

  async function nodes(r: PortalRequest) {
    requireAdmin(r);
    const data = await ctx.run(
      Effect.gen(function* () {
        const registry = yield* NodeRegistry;
        const selector = yield* Selector;
        const scores = yield* ScoresPoller;
        const now = ctx.now();
        const rows: NodeRow[] = registry.list().map((node) => ({
          node,
          fresh: registry.isFresh(node, now),
          health: registry.health(node.address),
          stats: selector.stats.view(node.address, now),
          scores: [...node.offers.keys()].flatMap((serviceId) => {
            const s = scores.score(node.address, serviceId);
            return s === undefined ? [] : [s];
          }),
        }));
        return { rows, now, scores: scores.status(), forgetAfterMs: registry.forgetAfterMs };
      }),
    );
    r.html(200, adminNodesPage(r.view, data));
  }

  /** `admin.nodes.forgotten`, a page at a time: `?at=<lastAnnouncedAt>&address=<node>` starts after that node. */
  async function forgottenNodes(r: PortalRequest) {
    requireAdmin(r);
    const after = forgottenCursorOf(r.query);
    const { nodes, forgetAfterMs } = await ctx.run(
      Effect.gen(function* () {
        const registry = yield* NodeRegistry;
        // One more than a page: whether a next page exists.
        const nodes = yield* registry.forgotten(FORGOTTEN_PER_PAGE + 1, after);
        return { nodes, forgetAfterMs: registry.forgetAfterMs };
      }),
    );
    const shown = nodes.slice(0, FORGOTTEN_PER_PAGE);
    const last = shown.at(-1);
    r.html(
      200,
      adminForgottenNodesPage(r.view, {
        nodes: shown,
        forgetAfterMs,
        first: after === undefined,
        next:
          nodes.length > FORGOTTEN_PER_PAGE && last !== undefined
            ? { lastAnnouncedAt: last.lastAnnouncedAt, address: last.address }
            : undefined,
      }),
    );
  }

  async function traffic(r: PortalRequest) {
    requireAdmin(r);
    const asked = Number(r.query.get("days") ?? "7");
    const days = [1, 7, 30].includes(asked) ? asked : 7;
    await ctx.run(deps.flushMetering);
    const now = ctx.now();
    const from = (Math.floor(now / DAY_MS) - days + 1) * DAY_MS;
    const db = deps.db;
    const rows = await db.all<TrafficRow>(sql`
      select ${SOLD_SERVICE} as "serviceId", ${SOLD_TIER} as "tier", service_id as "servedServiceId",
             ${RELAY_TOTALS}, cast(coalesce(avg(latency_ms), 0) as double precision) as "avgLatencyMs"
      from relays where created_at >= ${from}
      group by ${SOLD_SERVICE}, ${SOLD_TIER}, service_id order by count(*) desc`);
    const daily = (
      await db.all<{ day: number; serviceId: string; requests: number }>(sql`
        select ${RELAY_DAY} as "day", ${SOLD_SERVICE} as "serviceId", cast(count(*) as bigint) as "requests"
        from relays where created_at >= ${from} group by ${RELAY_DAY}, ${SOLD_SERVICE}`)
    ).map((d) => ({ ...d, day: new Date(Number(d.day) * DAY_MS).toISOString().slice(0, 10) }));
    const activeKeys = Number(
      (
        await db.get<{ n: number }>(sql`select cast(count(*) as bigint) as "n" from api_keys
          where status = 'active' and role = 'application'`)
      )?.n ?? 0,
    );
    const accounts = await ctx.store.countUsers();
    r.html(
      200,
      adminTrafficPage(r.view, {
        days,
        rows,
        daily,
        dayList: dayList(now, days),
        accounts,
        activeKeys,
      }),
    );
  }

  async function settlement(r: PortalRequest, status = 200, error?: PortalRefused, weekOverride?: string) {
    requireAdmin(r);
    const currentWeekId = weekIdOf(ctx.now());
    const asked = weekOverride ?? r.query.get("week") ?? "";
    const weekId = WEEK_ID_PATTERN.test(asked) ? asked : currentWeekId;
    const { rates, tally } = await ctx.run(
      Effect.gen(function* () {
        const s = yield* Settlement;
        return { rates: yield* s.listRates(), tally: yield* s.weeklyTally(weekId) };
      }),
    );
    r.html(
      status,
      adminSettlementPage(
        { ...r.view, error },
        { weekId, currentWeekId, rates, tally, operator: deps.operator },
      ),
    );
  }

  async function setRate(r: PortalRequest) {
    requireAdmin(r);
    const form = await r.form();
    const weekId = (form.get("week") ?? "").trim();
    try {
      if (!WEEK_ID_PATTERN.test(weekId))
        throw refuse("INVALID_REQUEST", "Write the week as an ISO week id like 2026-W49.", "week");
      let rate: number;
      try {
        rate = parseUsd(form.get("usdPerPokt") ?? "");
      } catch {
        throw refuse("INVALID_REQUEST", "Write the rate in dollars per POKT, like 0.25.", "usdPerPokt");
      }
      if (rate < 1) throw refuse("INVALID_REQUEST", "The rate must be above $0.", "usdPerPokt");
      await ctx.run(Effect.flatMap(Settlement, (s) => s.setWeeklyRate(weekId, rate)));
      r.redirect(`/portal/admin/settlement?week=${weekId}&notice=rate-set`);
    } catch (e) {
      if (!(e instanceof PortalRefused)) throw e;
      await settlement(r, e.status, e, WEEK_ID_PATTERN.test(weekId) ? weekId : undefined);
    }
  }

  async function tallyCsv(r: PortalRequest) {
    requireAdmin(r);
    const weekId = r.query.get("week") ?? "";
    if (!WEEK_ID_PATTERN.test(weekId)) throw refuse("INVALID_REQUEST", "Name the week: ?week=2026-W49.");
    const csv = await ctx.run(Effect.flatMap(Settlement, (s) => s.report(weekId, "csv")));
    sendDownload(r.res, `tally-${deps.operator}-${weekId}.csv`, "text/csv", csv);
  }

  return [
    [
      "GET",
      /^\/admin\/?$/,
      (r) => {
        requireAdmin(r);
        r.redirect("/portal/admin/nodes");
      },
    ],
    ["GET", /^\/admin\/nodes$/, nodes],
    ["GET", /^\/admin\/nodes\/forgotten$/, forgottenNodes],
    ["GET", /^\/admin\/traffic$/, traffic],
    ["GET", /^\/admin\/settlement$/, (r) => settlement(r)],
    ["POST", /^\/admin\/settlement\/rate$/, setRate],
    ["GET", /^\/admin\/tally\.csv$/, tallyCsv],
  ];
}

/** Where a page of forgotten nodes starts (none: the first page); a refusal when the link was altered. */
function forgottenCursorOf(query: URLSearchParams): ForgottenCursor | undefined {
  const at = query.get("at");
  const address = query.get("address");
  if (at === null && address === null) return undefined;
  if (at === null || !/^\d{1,15}$/.test(at) || address === null || !/^[0-9a-z]{1,128}$/.test(address))
    throw refuse(
      "INVALID_REQUEST",
      "This page address is not one the console made. Start again from the first page.",
    );
  return { lastAnnouncedAt: Number(at), address };
}
