import { sql } from "drizzle-orm";
import { Effect, Exit, Layer, type Runtime, Scope } from "effect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { accountsTest } from "../../test/support/accounts-test-layer.js";
import { dialectMissing, STORE_DIALECTS } from "../../test/support/temp-database.js";
import type { Accounts } from "../accounts/accounts.js";
import { GatewayStore } from "../db/database.js";
import { PortalAccounts } from "./portal-accounts.js";
import { PortalConfig } from "./portal-config.js";
import { PortalRefused } from "./portal-errors.js";
import { portalStore, sessionIdHash } from "./portal-store.js";

// The portal's tables on both dialects: replicas on PostgreSQL share accounts and sessions.
describe.each(STORE_DIALECTS)("portal accounts on %s", (dialect) => {
  describe.skipIf(dialectMissing(dialect))(dialect, () => {
    const HOUR = 3_600_000;
    let scope: Scope.CloseableScope;
    let runtime: Runtime.Runtime<Accounts | GatewayStore>;
    let clock = 1_800_000_000_000;

    beforeEach(async () => {
      scope = Effect.runSync(Scope.make());
      runtime = await Effect.runPromise(Layer.toRuntime(accountsTest(dialect)).pipe(Scope.extend(scope)));
    });
    afterEach(() => Effect.runPromise(Scope.close(scope, Exit.void)));

    function portal(overrides: Record<string, unknown> = {}) {
      const config = PortalConfig.parse({ passwordHash: { logN: 10 }, ...overrides });
      const db = Effect.runSync(Effect.provide(GatewayStore, runtime));
      const store = portalStore(db);
      return { accounts: new PortalAccounts(config, store, runtime, () => clock), store, db };
    }

    const codeOf = async (p: Promise<unknown>) => {
      try {
        await p;
        return "ok";
      } catch (e) {
        if (e instanceof PortalRefused) return e.code;
        throw e;
      }
    };

    describe("sign-up", () => {
      it("creates an account with its own application, and stores no password", async () => {
        const { accounts, store } = portal();
        const user = await accounts.signup({
          email: " Ada@Example.COM ",
          password: "a long passphrase",
          network: "n1",
        });
        expect(user.email).toBe("ada@example.com");
        expect(user.applicationId).toMatch(/^app_/);
        expect(user.role).toBe("customer");
        const row = (await store.userByEmail("ada@example.com"))!;
        expect(row.passwordHash).toMatch(/^scrypt\$/);
        expect(row.passwordHash).not.toContain("a long passphrase");
      });

      it("refuses a taken e-mail, a bad address and weak passwords with stable codes", async () => {
        const { accounts } = portal();
        await accounts.signup({ email: "bob@example.com", password: "a long passphrase", network: "n1" });
        expect(
          await codeOf(
            accounts.signup({ email: "BOB@example.com", password: "another passphrase", network: "n2" }),
          ),
        ).toBe("EMAIL_TAKEN");
        expect(
          await codeOf(
            accounts.signup({ email: "not-an-address", password: "a long passphrase", network: "n2" }),
          ),
        ).toBe("INVALID_REQUEST");
        expect(
          await codeOf(accounts.signup({ email: "c@example.com", password: "short", network: "n2" })),
        ).toBe("WEAK_PASSWORD");
        expect(
          await codeOf(accounts.signup({ email: "c@example.com", password: "password123", network: "n2" })),
        ).toBe("WEAK_PASSWORD");
        expect(
          await codeOf(accounts.signup({ email: "c@example.com", password: "aaaaaaaaaaaa", network: "n2" })),
        ).toBe("WEAK_PASSWORD");
      });

      it("counts a sign-up refused for a taken address as a failed log-in of its network", async () => {
        const { accounts } = portal({
          login: { failuresPer15Min: 3 },
          signup: { perNetworkPerHour: 50, perNetworkPerDay: 50 },
        });
        await accounts.signup({ email: "amy@example.com", password: "a long passphrase", network: "home" });
        const signup = (email: string, network: string) =>
          codeOf(accounts.signup({ email, password: "another passphrase", network }));
        // Each answer says the address has an account, as a failed log-in would: it counts as one.
        expect(await signup("amy@example.com", "prober")).toBe("EMAIL_TAKEN");
        expect(await codeOf(accounts.login("nobody@example.com", "a guess", "prober"))).toBe("LOGIN_FAILED");
        expect(await signup("amy@example.com", "prober")).toBe("EMAIL_TAKEN");
        // At the limit the network learns nothing more: taken or free, sign-up and log-in alike.
        expect(await signup("amy@example.com", "prober")).toBe("LOGIN_LIMITED");
        expect(await signup("free@example.com", "prober")).toBe("LOGIN_LIMITED");
        expect(await codeOf(accounts.login("amy@example.com", "a long passphrase", "prober"))).toBe(
          "LOGIN_LIMITED",
        );
        // Other networks are not affected; after the window the network signs up again.
        expect(await signup("amy@example.com", "office")).toBe("EMAIL_TAKEN");
        clock += 15 * 60_000 + 1;
        expect(await signup("free@example.com", "prober")).toBe("ok");
        // A burst of probes sent at once gets no more answers than the limit.
        const burst = await Promise.all(Array.from({ length: 12 }, () => signup("amy@example.com", "burst")));
        const answered = burst.filter((code) => code === "EMAIL_TAKEN").length;
        expect(answered).toBeLessThanOrEqual(3);
        expect(burst.filter((code) => code === "LOGIN_LIMITED")).toHaveLength(12 - answered);
      });

      it("limits sign-ups per network per hour and per day, and everywhere per hour", async () => {
        const { accounts } = portal({ signup: { perNetworkPerHour: 2, perNetworkPerDay: 3, perHour: 5 } });
        const signup = (i: number, network: string) =>
          codeOf(accounts.signup({ email: `u${i}@example.com`, password: "a long passphrase", network }));
        expect(await signup(1, "home")).toBe("ok");
        expect(await signup(2, "home")).toBe("ok");
        expect(await signup(3, "home")).toBe("SIGNUP_LIMITED");
        expect(await signup(3, "office")).toBe("ok"); // another network is not affected
        clock += HOUR + 1;
        expect(await signup(4, "home")).toBe("ok");
        expect(await signup(5, "home")).toBe("SIGNUP_LIMITED"); // 3 in the last day
        expect(await signup(5, "n3")).toBe("ok");
        expect(await signup(6, "n4")).toBe("ok");
        expect(await signup(7, "n5")).toBe("ok");
        expect(await signup(8, "n6")).toBe("ok");
        expect(await signup(9, "n7")).toBe("SIGNUP_LIMITED"); // 5 everywhere in the last hour
        clock += 24 * HOUR;
        expect(await signup(9, "home")).toBe("ok");
      });

      it("holds under concurrent sign-ups from one network: the limit is checked again after hashing", async () => {
        const { accounts, store } = portal({ signup: { perNetworkPerHour: 3 } });
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            codeOf(
              accounts.signup({
                email: `race${i}@example.com`,
                password: "a long passphrase",
                network: "same",
              }),
            ),
          ),
        );
        // The whole list: a failure names every outcome, not only how many were ok.
        expect([...results].sort()).toEqual(
          [...Array(3).fill("ok"), ...Array(5).fill("SIGNUP_LIMITED")].sort(),
        );
        expect(await store.countUsers()).toBe(3);
      });

      it("refuses a burst from one network past its limit before hashing any of the extra passwords", async () => {
        const { store } = portal();
        // The real store, counting how many sign-ups went past the limits (each then looks the
        // address up, and hashes its password).
        let pastLimits = 0;
        const counted = {
          ...store,
          userByEmail: (email: string) => {
            pastLimits++;
            return store.userByEmail(email);
          },
        };
        const config = PortalConfig.parse({ passwordHash: { logN: 10 }, signup: { perNetworkPerHour: 2 } });
        const accounts = new PortalAccounts(config, counted, runtime, () => clock);
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            codeOf(
              accounts.signup({
                email: `flood${i}@example.com`,
                password: "a long passphrase",
                network: "one",
              }),
            ),
          ),
        );
        expect([...results].sort()).toEqual(
          [...Array(2).fill("ok"), ...Array(10).fill("SIGNUP_LIMITED")].sort(),
        );
        // Two before their hash, and again with the insert: the ten refused never got that far.
        expect(pastLimits).toBe(4);
        expect(await store.countUsers()).toBe(2);
      });

      it("refuses a sign-up past the limit before its hash when its count was read before another's insert", async () => {
        const { store } = portal();
        // The second sign-up arrives while the first one checks the limits again after its hash.
        // The second one's count is read from the database before the first one's insert and
        // answers only once the first sign-up is done, as a count on another connection can.
        let first: Promise<string> | undefined;
        let second: Promise<string> | undefined;
        let arriving = false;
        let secondCounted = false;
        let firstLookedUp = false;
        let secondLookups = 0;
        let countRead: () => void = () => undefined;
        const secondCountRead = new Promise<void>((resolve) => {
          countRead = resolve;
        });
        const steered = {
          ...store,
          userByEmail: (email: string) => {
            if (email === "second@example.com") secondLookups++;
            else firstLookedUp = true;
            return store.userByEmail(email);
          },
          signupsFrom: async (network: string, since: number) => {
            if (arriving) {
              secondCounted = true;
              const n = await store.signupsFrom(network, since);
              countRead();
              await first;
              return n;
            }
            if (firstLookedUp && second === undefined) {
              arriving = true;
              second = signup("second@example.com");
              arriving = false;
            }
            return store.signupsFrom(network, since);
          },
          insertUser: async (user: Parameters<typeof store.insertUser>[0]) => {
            if (secondCounted) await secondCountRead;
            return store.insertUser(user);
          },
        };
        const config = PortalConfig.parse({ passwordHash: { logN: 10 }, signup: { perNetworkPerHour: 1 } });
        const accounts = new PortalAccounts(config, steered, runtime, () => clock);
        const signup = (email: string) =>
          codeOf(accounts.signup({ email, password: "a long passphrase", network: "one" }));
        first = signup("first@example.com");
        expect(await first).toBe("ok");
        expect(second).toBeDefined();
        expect(await second).toBe("SIGNUP_LIMITED");
        // Refused before its address was looked up and its password hashed.
        expect(secondLookups).toBe(0);
        expect(await store.countUsers()).toBe(1);
      });

      it("counts a sign-up stored just before another one arrives once, not also as pending", async () => {
        const { store } = portal();
        // The second sign-up arrives the moment the first one's insert is done, before the first
        // one has left the pending sign-ups: it finds one stored account, and none pending.
        let second: Promise<string> | undefined;
        const steered = {
          ...store,
          insertUser: async (user: Parameters<typeof store.insertUser>[0]) => {
            const done = await store.insertUser(user);
            second ??= signup("pair1@example.com");
            return done;
          },
        };
        const config = PortalConfig.parse({ passwordHash: { logN: 10 }, signup: { perNetworkPerHour: 2 } });
        const accounts = new PortalAccounts(config, steered, runtime, () => clock);
        const signup = (email: string) =>
          codeOf(accounts.signup({ email, password: "a long passphrase", network: "two" }));
        expect(await signup("pair0@example.com")).toBe("ok");
        expect(await second).toBe("ok");
        expect(await store.countUsers()).toBe(2);
      });

      it("can be closed by the operator", async () => {
        const { accounts } = portal({ signup: { enabled: false } });
        expect(
          await codeOf(
            accounts.signup({ email: "x@example.com", password: "a long passphrase", network: "n" }),
          ),
        ).toBe("SIGNUP_CLOSED");
      });

      it("makes the addresses the operator lists administrators on a network that trusts them", async () => {
        const { accounts } = portal({ admins: ["ops@example.com"], trustListedAdmins: true });
        const user = await accounts.signup({
          email: "OPS@example.com",
          password: "a long passphrase",
          network: "n",
        });
        expect(user.role).toBe("admin");
      });

      it("refuses a list of administrators that a stranger could claim by signing up first", () => {
        const parsed = PortalConfig.safeParse({ admins: ["ops@example.com"] });
        expect(parsed.success).toBe(false);
        expect(parsed.error?.issues[0]).toMatchObject({ path: ["admins"] });
        expect(parsed.error?.issues[0]?.message).toContain("pocket-gateway admin portal-admin");
        expect(PortalConfig.parse({}).admins).toEqual([]);
      });
    });

    describe("log-in and sessions", () => {
      it("logs in with the right password only, and stores the session id hashed", async () => {
        const { accounts, db } = portal();
        await accounts.signup({ email: "eve@example.com", password: "a long passphrase", network: "n" });
        expect(await codeOf(accounts.login("eve@example.com", "wrong passphrase", "n"))).toBe("LOGIN_FAILED");
        expect(await codeOf(accounts.login("nobody@example.com", "a long passphrase", "n"))).toBe(
          "LOGIN_FAILED",
        );
        const user = await accounts.login("EVE@example.com", "a long passphrase", "n");
        const sessionId = await accounts.openSession(user);
        expect(sessionId).toMatch(/^[A-Za-z0-9_-]{43}$/);
        const stored = await db.all<{ idHash: string }>(sql`select id_hash as "idHash" from portal_sessions`);
        expect(stored.map((s) => s.idHash)).toEqual([sessionIdHash(sessionId)]);
        expect(JSON.stringify(stored)).not.toContain(sessionId);
        expect((await accounts.sessionUser(sessionId))?.email).toBe("eve@example.com");
        const last = sessionId.slice(-1);
        expect(
          await accounts.sessionUser(`${sessionId.slice(0, -1)}${last === "A" ? "B" : "A"}`),
        ).toBeUndefined();
        await accounts.closeSession(sessionId);
        expect(await accounts.sessionUser(sessionId)).toBeUndefined();
      });

      it("ends a session when it expires", async () => {
        const { accounts } = portal({ sessionHours: 1 });
        const user = await accounts.signup({
          email: "exp@example.com",
          password: "a long passphrase",
          network: "n",
        });
        const sessionId = await accounts.openSession(user);
        clock += HOUR - 1;
        expect(await accounts.sessionUser(sessionId)).toBeDefined();
        clock += 1;
        expect(await accounts.sessionUser(sessionId)).toBeUndefined();
      });

      it("stops guessing: after the allowed failures even the right password is refused for a while", async () => {
        const { accounts } = portal({ login: { failuresPer15Min: 3 } });
        await accounts.signup({ email: "tom@example.com", password: "a long passphrase", network: "n" });
        for (let i = 0; i < 3; i++)
          expect(await codeOf(accounts.login("tom@example.com", `guess ${i}`, "attacker"))).toBe(
            "LOGIN_FAILED",
          );
        expect(await codeOf(accounts.login("tom@example.com", "a long passphrase", "attacker"))).toBe(
          "LOGIN_LIMITED",
        );
        clock += 15 * 60_000 + 1;
        expect(await codeOf(accounts.login("tom@example.com", "a long passphrase", "attacker"))).toBe("ok");
      });

      it("locks a guessing network out of the account, not its owner elsewhere; guesses spread over networks stop too", async () => {
        const { accounts } = portal({ login: { failuresPer15Min: 3, accountFailuresPer15Min: 7 } });
        await accounts.signup({ email: "kim@example.com", password: "a long passphrase", network: "n" });
        for (let i = 0; i < 3; i++)
          expect(await codeOf(accounts.login("kim@example.com", `guess ${i}`, "attacker"))).toBe(
            "LOGIN_FAILED",
          );
        expect(await codeOf(accounts.login("kim@example.com", "guess 3", "attacker"))).toBe("LOGIN_LIMITED");
        // The owner, on another network, is let in, and that clears the account's own count.
        expect(await codeOf(accounts.login("kim@example.com", "a long passphrase", "home"))).toBe("ok");
        // Guesses from several networks, each under its own limit, meet the account-wide one.
        const spread = [];
        for (let i = 0; i < 9; i++)
          spread.push(await codeOf(accounts.login("kim@example.com", `guess ${i}`, `botnet ${i % 3}`)));
        expect(spread).toEqual([...Array(7).fill("LOGIN_FAILED"), "LOGIN_LIMITED", "LOGIN_LIMITED"]);
        expect(await codeOf(accounts.login("kim@example.com", "a long passphrase", "home"))).toBe(
          "LOGIN_LIMITED",
        );
        // The guessing network is still held to its count of failures, on every account.
        await accounts.signup({ email: "lee@example.com", password: "a long passphrase", network: "n" });
        expect(await codeOf(accounts.login("lee@example.com", "a long passphrase", "attacker"))).toBe(
          "LOGIN_LIMITED",
        );
      });

      it("holds a burst of guesses sent at once to the limit: attempts in flight count until decided", async () => {
        const { accounts } = portal({ login: { failuresPer15Min: 3 } });
        await accounts.signup({ email: "eve@example.com", password: "a long passphrase", network: "n" });
        const burst = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            codeOf(accounts.login("eve@example.com", `guess ${i}`, "attacker")),
          ),
        );
        // At most the limit's worth of guesses is ever checked; the rest are refused unchecked.
        const checked = burst.filter((code) => code === "LOGIN_FAILED").length;
        expect(checked).toBeLessThanOrEqual(3);
        expect(burst.filter((code) => code === "LOGIN_LIMITED")).toHaveLength(20 - checked);
        // A burst of right passwords from the owner's own network is no guess: the first goes in.
        const { accounts: fresh } = portal({ login: { failuresPer15Min: 3 } });
        await fresh.signup({ email: "joe@example.com", password: "a long passphrase", network: "n" });
        const own = await Promise.all(
          Array.from({ length: 2 }, () =>
            codeOf(fresh.login("joe@example.com", "a long passphrase", "home")),
          ),
        );
        expect(own).toEqual(["ok", "ok"]);
      });

      it("counts a failure recorded while another attempt is in flight once, not also as in flight", async () => {
        const { store } = portal();
        // The owner logs in the moment a wrong guess from the same network has been recorded,
        // before that guess is done: one failure before it and the guess make two, under three.
        let owner: Promise<string> | undefined;
        let recorded = 0;
        const steered = {
          ...store,
          recordLoginFailure: async (...args: Parameters<typeof store.recordLoginFailure>) => {
            const done = await store.recordLoginFailure(...args);
            if (++recorded === 2)
              owner ??= codeOf(accounts.login("liz@example.com", "a long passphrase", "n"));
            return done;
          },
        };
        const config = PortalConfig.parse({ passwordHash: { logN: 10 }, login: { failuresPer15Min: 3 } });
        const accounts = new PortalAccounts(config, steered, runtime, () => clock);
        await accounts.signup({ email: "liz@example.com", password: "a long passphrase", network: "n" });
        expect(await codeOf(accounts.login("liz@example.com", "guess 1", "n"))).toBe("LOGIN_FAILED");
        expect(await codeOf(accounts.login("liz@example.com", "guess 2", "n"))).toBe("LOGIN_FAILED");
        expect(await owner).toBe("ok");
      });

      it("counts failures for every replica on the database, keeps no address, and forgets old ones", async () => {
        const one = portal({ login: { failuresPer15Min: 2 } });
        const two = portal({ login: { failuresPer15Min: 2 } });
        await one.accounts.signup({ email: "ann@example.com", password: "a long passphrase", network: "n" });
        // Guesses spread over two replicas still reach the limit.
        expect(await codeOf(one.accounts.login("ann@example.com", "guess 1", "attacker"))).toBe(
          "LOGIN_FAILED",
        );
        expect(await codeOf(two.accounts.login("ann@example.com", "guess 2", "attacker"))).toBe(
          "LOGIN_FAILED",
        );
        expect(await codeOf(one.accounts.login("ann@example.com", "a long passphrase", "attacker"))).toBe(
          "LOGIN_LIMITED",
        );
        // Two subjects a failure: the network and the address.
        const rows = await one.db.all<{ subject: string }>(sql`select subject from portal_login_failures`);
        expect(rows).toHaveLength(4);
        expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.subject))).toBe(true);
        // A failure after the window deletes the old rows; a success clears the address's count.
        clock += 15 * 60_000 + 1;
        expect(await codeOf(two.accounts.login("bob@example.com", "guess", "elsewhere"))).toBe(
          "LOGIN_FAILED",
        );
        expect(await one.db.all(sql`select subject from portal_login_failures`)).toHaveLength(2);
        expect(await codeOf(two.accounts.login("ann@example.com", "a long passphrase", "home"))).toBe("ok");
      });
    });

    describe("password change and other sessions", () => {
      const OLD = "a long passphrase";
      const NEW = "another long passphrase";

      async function loggedIn(accounts: PortalAccounts, email: string) {
        const user = await accounts.signup({ email, password: OLD, network: "n" });
        return { user, here: await accounts.openSession(user), there: await accounts.openSession(user) };
      }

      it("changes the password with the current one, ending every session and opening a fresh one", async () => {
        const { accounts, db } = portal();
        const { user, here, there } = await loggedIn(accounts, "pat@example.com");
        const fresh = await accounts.changePassword(user, { current: OLD, next: NEW, network: "n" });
        expect(fresh).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(await accounts.sessionUser(there)).toBeUndefined();
        expect(await accounts.sessionUser(here)).toBeUndefined();
        expect((await accounts.sessionUser(fresh))?.email).toBe("pat@example.com");
        const stored = await db.all<{ idHash: string }>(sql`select id_hash as "idHash" from portal_sessions`);
        expect(stored.map((s) => s.idHash)).toEqual([sessionIdHash(fresh)]);
        expect(await codeOf(accounts.login("pat@example.com", OLD, "n"))).toBe("LOGIN_FAILED");
        expect(await codeOf(accounts.login("pat@example.com", NEW, "n"))).toBe("ok");
        const row = await db.get<{ hash: string }>(
          sql`select password_hash as "hash" from portal_users where id = ${user.id}`,
        );
        expect(row?.hash).toMatch(/^scrypt\$/);
        expect(row?.hash).not.toContain(NEW);
      });

      it("refuses a wrong current password and a weak new one with stable codes, changing nothing", async () => {
        const { accounts } = portal();
        const { user, there } = await loggedIn(accounts, "lee@example.com");
        const change = (current: string, next: string) =>
          codeOf(accounts.changePassword(user, { current, next, network: "n" }));
        expect(await change("not my passphrase", NEW)).toBe("WRONG_PASSWORD");
        expect(await change(OLD, "short")).toBe("WEAK_PASSWORD");
        expect(await change(OLD, "password123")).toBe("WEAK_PASSWORD");
        expect(await change(OLD, "lee@example.com")).toBe("WEAK_PASSWORD");
        expect(await change(OLD, "x".repeat(1025))).toBe("WEAK_PASSWORD");
        expect(await accounts.sessionUser(there)).toBeDefined();
        expect(await codeOf(accounts.login("lee@example.com", OLD, "n"))).toBe("ok");
      });

      it("counts wrong current passwords as failed log-ins of the network and the account", async () => {
        const { accounts } = portal({ login: { failuresPer15Min: 3, accountFailuresPer15Min: 5 } });
        const { user } = await loggedIn(accounts, "joe@example.com");
        const change = (current: string, network: string) =>
          codeOf(accounts.changePassword(user, { current, next: NEW, network }));
        expect(await change("guess 1", "cafe")).toBe("WRONG_PASSWORD");
        expect(await codeOf(accounts.login("joe@example.com", "guess 2", "cafe"))).toBe("LOGIN_FAILED");
        expect(await change("guess 3", "cafe")).toBe("WRONG_PASSWORD");
        // The network is at its limit: neither the change nor a log-in is checked, right or not.
        expect(await change(OLD, "cafe")).toBe("LOGIN_LIMITED");
        expect(await codeOf(accounts.login("joe@example.com", OLD, "cafe"))).toBe("LOGIN_LIMITED");
        // The account's count is shared with log-ins from every network.
        expect(await change("guess 4", "home")).toBe("WRONG_PASSWORD");
        expect(await change("guess 5", "office")).toBe("WRONG_PASSWORD");
        expect(await change(OLD, "home")).toBe("LOGIN_LIMITED");
        // A burst of guesses sent at once gets no more password checks than the limit.
        clock += 15 * 60_000 + 1;
        const burst = await Promise.all(Array.from({ length: 8 }, (_, i) => change(`guess ${i}`, "burst")));
        expect(burst.filter((c) => c === "WRONG_PASSWORD")).toHaveLength(3);
        expect(burst.filter((c) => c === "LOGIN_LIMITED")).toHaveLength(5);
      });

      it("lets only one of two changes sent at once through", async () => {
        const { accounts } = portal();
        const { user } = await loggedIn(accounts, "two@example.com");
        const [a, b] = await Promise.all([
          codeOf(accounts.changePassword(user, { current: OLD, next: NEW, network: "n" })),
          codeOf(
            accounts.changePassword(user, { current: OLD, next: "a third long passphrase", network: "n" }),
          ),
        ]);
        expect([a, b].sort()).toEqual(["WRONG_PASSWORD", "ok"]);
        const winner = a === "ok" ? NEW : "a third long passphrase";
        expect(await codeOf(accounts.login("two@example.com", winner, "n"))).toBe("ok");
      });

      it("opens no session for a log-in the change overtook, and a rehash at log-in keeps the new password", async () => {
        const { accounts } = portal();
        const { user } = await loggedIn(accounts, "race@example.com");
        // A log-in checked the old password (its user read) just before the change.
        const before = (await accounts.login("race@example.com", OLD, "n"))!;
        await accounts.changePassword(user, { current: OLD, next: NEW, network: "n" });
        expect(await codeOf(accounts.openSession(before))).toBe("LOGIN_FAILED");
        // A stronger cost makes the next log-in rehash: only over the hash it checked.
        const stronger = portal({ passwordHash: { logN: 11 } });
        const store = stronger.store;
        const stale = (await store.userById(user.id))!.passwordHash;
        expect(await store.replacePasswordHash(user.id, `${stale}x`, "scrypt$other")).toBe(false);
        expect(await codeOf(stronger.accounts.login("race@example.com", NEW, "n"))).toBe("ok");
        expect((await store.userById(user.id))!.passwordHash).toMatch(/^scrypt\$11\$/);
        expect(await codeOf(stronger.accounts.login("race@example.com", NEW, "n"))).toBe("ok");
      });

      it("ends every other session of the account, and no other account's", async () => {
        const { accounts } = portal();
        const { user, here, there } = await loggedIn(accounts, "sam@example.com");
        const third = await accounts.openSession(user);
        const other = await loggedIn(accounts, "kit@example.com");
        expect(await accounts.otherSessions(user, here)).toBe(2);
        expect(await accounts.endOtherSessions(user, here)).toBe(2);
        expect(await accounts.sessionUser(there)).toBeUndefined();
        expect(await accounts.sessionUser(third)).toBeUndefined();
        expect((await accounts.sessionUser(here))?.email).toBe("sam@example.com");
        expect(await accounts.otherSessions(user, here)).toBe(0);
        expect(await accounts.sessionUser(other.here)).toBeDefined();
        expect(await accounts.sessionUser(other.there)).toBeDefined();
      });
    });
  });
});
