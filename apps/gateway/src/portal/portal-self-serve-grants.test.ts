import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { DEFAULT_CATALOG } from "@pocket-ai/protocol";
import { createLogger } from "@pocket-ai/runtime";
import { sql } from "drizzle-orm";
import { Effect, Layer, ManagedRuntime, type Runtime } from "effect";
import { afterAll, describe, expect, it } from "vitest";
import { withKeyWritesHeld } from "../../test/support/key-writes-held.js";
import { PortalBrowser } from "../../test/support/portal-browser.js";
import { dialectMissing, freshLocation, STORE_DIALECTS } from "../../test/support/temp-database.js";
import { Accounts } from "../accounts/accounts.js";
import { AccountsConfig } from "../accounts/accounts-config.js";
import { AccountsLive } from "../accounts/index.js";
import { GatewayStore, type StoreLocation } from "../db/database.js";
import { makePortal, type PortalServices } from "./portal-app.js";
import { PortalConfig } from "./portal-config.js";
import { mountPortal } from "./portal-mount.js";

const DAY = 86_400_000;
const errorCode = (page: string) => /data-code="([A-Z_]+)"/.exec(page)?.[1];

/**
 * `portal.keys.selfServeUsdPerDay`: what customers' key forms grant, all accounts together, in a
 * rolling day. Real portals over HTTP on loopback, on a SQLite file or a PostgreSQL database that
 * several of them (replicas, or one started again) share; the portal's clock is set by the test.
 */
describe.each(STORE_DIALECTS)("the day's cap on self-serve key budget on %s", (dialect) => {
  describe.skipIf(dialectMissing(dialect))(dialect, () => {
    const scope = ManagedRuntime.make(Layer.empty);
    const closing: (() => Promise<void>)[] = [];
    afterAll(async () => {
      for (const close of closing.reverse()) await close();
      await scope.dispose();
    });
    const clock = { at: 1_800_000_000_000 };
    const config = PortalConfig.parse({
      passwordHash: { logN: 10 },
      signup: { perNetworkPerHour: 20 },
      keys: { maxBudgetUsd: "2", selfServeUsdPerDay: "5" },
    });

    /** A gateway process's portal on the database at `location`, listening on 127.0.0.1:0. */
    const replica = async (location: StoreLocation, portalConfig = config) => {
      const services = ManagedRuntime.make(
        AccountsLive.pipe(
          Layer.provideMerge(Layer.merge(GatewayStore.layer(location), AccountsConfig.layerTest)),
        ),
      );
      const runtime = await services.runtime();
      const portal = makePortal({
        config: portalConfig,
        db: await services.runPromise(GatewayStore),
        // The key pages use accounts and limits only; routing and settlement are not reached.
        runtime: runtime as Runtime.Runtime<PortalServices>,
        catalog: DEFAULT_CATALOG,
        secret: randomBytes(32),
        flushMetering: Effect.void,
        publicUrl: undefined,
        operator: "test",
        log: createLogger({ app: "portal-test", level: "error", write: () => undefined }),
        now: () => clock.at,
      });
      const server: Server = createServer(
        mountPortal(portal.handle, (_req, res) => {
          res.writeHead(404);
          res.end();
        }),
      );
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      let closed: Promise<void> | undefined;
      const close = () => {
        closed ??= new Promise<void>((resolve) => server.close(() => resolve())).then(() =>
          services.dispose(),
        );
        return closed;
      };
      closing.push(close);
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      return { url, services, db: await services.runPromise(GatewayStore), close };
    };

    const freshDatabase = () =>
      scope.runPromise(Effect.map(freshLocation(dialect), (l) => l.location).pipe(Effect.scoped));

    const customer = async (url: string, email: string) => {
      const b = new PortalBrowser(url);
      expect((await b.signup(email)).res.status).toBe(303);
      const csrf = await b.csrf("/portal/keys");
      return {
        b,
        create: (name: string, budget: string) => b.request("/portal/keys", { csrf, name, budget }),
        save: (id: string, budget: string) =>
          b.request(`/portal/keys/${id}`, { csrf, name: "saved", budget }),
      };
    };

    it("grants up to the cap across accounts, refuses the form past it with nothing written, counts raises, and lets the operator grant freely", async () => {
      const { url, db, services } = await replica(await freshDatabase());
      const granted = async () =>
        Number(
          (
            await db.get<{ n: number }>(sql`select cast(coalesce(sum(micro_usd), 0) as bigint) as "n"
            from portal_budget_grants`)
          )?.n ?? 0,
        );
      const keyCount = async () =>
        Number((await db.get<{ n: number }>(sql`select cast(count(*) as bigint) as "n" from api_keys`))?.n);

      const ada = await customer(url, "ada@example.com");
      expect((await ada.create("a1", "2")).res.status).toBe(201);
      expect((await ada.create("a2", "2")).res.status).toBe(201);
      const bob = await customer(url, "bob@example.com");
      const keysBefore = await keyCount();
      // $4 granted of $5: another account's $2 key does not fit.
      const over = await bob.create("b1", "2");
      expect(over.res.status).toBe(429);
      expect(errorCode(over.text)).toBe("SELF_SERVE_BUDGET_LIMITED");
      expect(over.text).toContain("at most $5 of key budget a day, and $1 is left now. Try again later");
      expect(over.text).toContain("ask the portal operator");
      expect(await keyCount()).toBe(keysBefore);
      expect(await granted()).toBe(4_000_000);
      expect(await bob.b.keyIds()).toEqual([]);

      // What is left fits; then a raise counts what it adds, and a lowering grants nothing.
      expect((await bob.create("b1", "1")).res.status).toBe(201);
      const [b1] = await bob.b.keyIds();
      const raise = await bob.save(b1!, "1.5");
      expect(raise.res.status).toBe(429);
      expect(errorCode(raise.text)).toBe("SELF_SERVE_BUDGET_LIMITED");
      expect((await bob.save(b1!, "0.25")).res.status).toBe(303);
      expect((await bob.save(b1!, "0.5")).res.status).toBe(429);
      expect(await granted()).toBe(5_000_000);
      expect((await bob.b.request("/portal/keys")).text).toMatch(/\$0 \/ \$0\.25</);

      // The operator's grants (what the CLI and admin API call: no caps) are neither counted nor refused.
      const operator = <A, E>(f: (a: Accounts["Type"]) => Effect.Effect<A, E>) =>
        services.runPromise(Effect.flatMap(Accounts, f));
      await operator((a) => a.updateKey(b1!, { budgetMicroUsd: 100_000_000 }));
      // Lowering the operator's $100 to a customer's $2 adds nothing to the day's grants.
      expect((await bob.save(b1!, "2")).res.status).toBe(303);
      const { applicationId } = await operator((a) => a.getKey(b1!));
      await operator((a) =>
        a.createKey(applicationId, { name: "from the operator", budgetMicroUsd: 50_000_000 }),
      );
      expect(await granted()).toBe(5_000_000);
    });

    it("rolls: a grant leaves the count 24 hours after it was made, on any replica, after a restart", async () => {
      const location = await freshDatabase();
      const first = await replica(location);
      const start = clock.at;
      const ada = await customer(first.url, "ada@example.com");
      expect((await ada.create("a1", "2")).res.status).toBe(201);
      clock.at = start + 6 * 3_600_000;
      expect((await ada.create("a2", "2")).res.status).toBe(201);
      expect((await ada.create("a3", "1")).res.status).toBe(201);
      await first.close();

      // The same database, a process started again: the day's $5 is still spent.
      const second = await replica(location);
      const bob = await customer(second.url, "bob@example.com");
      clock.at = start + DAY - 1;
      expect(errorCode((await bob.create("b1", "0.01")).text)).toBe("SELF_SERVE_BUDGET_LIMITED");
      // The first $2 was granted a day ago: it leaves the window, the later $3 stay.
      clock.at = start + DAY;
      expect((await bob.create("b1", "2")).res.status).toBe(201);
      expect(errorCode((await bob.create("b2", "0.01")).text)).toBe("SELF_SERVE_BUDGET_LIMITED");
      // Grants older than the window are deleted as new ones arrive.
      const rows = await second.db.all<{ at: number }>(sql`select at from portal_budget_grants order by at`);
      expect(rows.map((r) => Number(r.at) - start)).toEqual([6 * 3_600_000, 6 * 3_600_000, DAY]);
    });

    it("two accounts' forms at once on two replicas that fit only one by one: one is granted, one is refused", async () => {
      const location = await freshDatabase();
      const [one, two] = [await replica(location), await replica(location)];
      const ada = await customer(one.url, "ada@example.com");
      const bob = await customer(two.url, "bob@example.com");
      expect((await ada.create("a0", "2")).res.status).toBe(201);
      // $3 left: each $2 fits alone, both do not. On PostgreSQL the key writes are held until both
      // forms wait on a lock, so each has passed whatever it checks apart from its write.
      const forms = [() => ada.create("a1", "2"), () => bob.create("b1", "2")];
      const answers =
        dialect === "postgres"
          ? await withKeyWritesHeld(one.db, forms.length, () => Promise.all(forms.map((f) => f())))
          : await Promise.all(forms.map((f) => f()));
      expect(answers.map((a) => a.res.status).sort()).toEqual([201, 429]);
      expect(answers.map((a) => errorCode(a.text)).filter((c) => c !== undefined)).toEqual([
        "SELF_SERVE_BUDGET_LIMITED",
      ]);
      const granted = await one.db.get<{ n: number }>(
        sql`select cast(sum(micro_usd) as bigint) as "n" from portal_budget_grants`,
      );
      expect(Number(granted?.n)).toBe(4_000_000);
    });

    it("asks for a budget where keys may be unlimited (no maxBudgetUsd, loopback): an unlimited key would pass any cap", async () => {
      const unlimited = PortalConfig.parse({ passwordHash: { logN: 10 }, keys: { maxBudgetUsd: null } });
      const { url } = await replica(await freshDatabase(), unlimited);
      const ada = await customer(url, "ada@example.com");
      const none = await ada.create("a1", "");
      expect(none.res.status).toBe(400);
      expect(errorCode(none.text)).toBe("INVALID_REQUEST");
      expect(none.text).toContain(
        "Give the key a budget: this portal grants at most $50 of key budget a day.",
      );
      expect((await ada.create("a1", "30")).res.status).toBe(201);
      expect(errorCode((await ada.create("a2", "30")).text)).toBe("SELF_SERVE_BUDGET_LIMITED");
    });
  });
});
