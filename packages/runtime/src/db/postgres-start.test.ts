import { Effect, Exit, Scope } from "effect";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BlackholeProxy, startBlackholeProxy } from "../../test/support/blackhole-proxy.js";
import { postgresAvailability, startTestPostgres, type TestPostgres } from "../../test/support/testing.js";
import { MIGRATION_LOCK, openPostgres } from "./postgres.js";
import { plainSql } from "./sql-client.js";
import { migrations } from "./test-migrations.js";

/**
 * A replica's start (connect, take the migration lock, migrate) is bounded as a whole: a server
 * that stops answering mid-start, or a lock that another session never releases (a replica frozen
 * while it migrated), ends the start with DATABASE_UNAVAILABLE naming the setting to raise, instead
 * of a process that waits forever without a word.
 */
describe.skipIf(!postgresAvailability().available)("a PostgreSQL start that cannot finish", () => {
  let server: TestPostgres;
  const proxies: BlackholeProxy[] = [];
  const scopes: Scope.CloseableScope[] = [];
  beforeAll(async () => {
    server = await startTestPostgres();
  }, 120_000);
  afterAll(async () => {
    for (const proxy of proxies) proxy.forward();
    for (const scope of scopes) await Effect.runPromise(Scope.close(scope, Exit.void));
    for (const proxy of proxies) await proxy.close();
    await server?.stop();
  });

  const open = (url: string, migrateTimeoutMs: number) => {
    const scope = Effect.runSync(Scope.make());
    scopes.push(scope);
    return Effect.runPromise(
      Scope.extend(
        openPostgres({ url, migrationsFolder: migrations(), poolSize: 1, migrateTimeoutMs }),
        scope,
      ).pipe(Effect.either),
    );
  };

  it("stops with DATABASE_UNAVAILABLE while another session holds the migration lock, and starts once it is released", async () => {
    const url = await server.createDatabase();
    const holder = new pg.Client({ connectionString: url });
    holder.on("error", () => undefined);
    await holder.connect();
    try {
      await holder.query("select pg_advisory_lock($1)", [MIGRATION_LOCK]);
      const refused = await open(url, 1_500);
      expect(refused._tag).toBe("Left");
      if (refused._tag !== "Left") return;
      expect(refused.left.code).toBe("DATABASE_UNAVAILABLE");
      expect(refused.left.reason).toContain("database.migrateTimeoutMs");
      expect(refused.left.reason).toContain("within 1500 ms");
      // Nothing was migrated, and the refused start's session ends on the server once it sees the
      // close: only the holder is left.
      const tables = await holder.query("select count(*)::int as n from pg_tables where tablename = 't'");
      expect(tables.rows[0].n).toBe(0);
      for (;;) {
        const others = await holder.query(
          "select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()",
        );
        if (others.rows[0].n === 0) break;
      }
      await holder.query("select pg_advisory_unlock($1)", [MIGRATION_LOCK]);
    } finally {
      await holder.end();
    }
    const started = await open(url, 1_500);
    expect(started._tag).toBe("Right");
    if (started._tag !== "Right") return;
    await started.right.client.run(plainSql`insert into t (id, v) values (1, 'a')`);
    expect(await started.right.client.get(plainSql`select v from t where id = 1`)).toEqual({ v: "a" });
  });

  it("stops with DATABASE_UNAVAILABLE when the server stops answering during the start, and leaves no connection open", async () => {
    const target = new URL(await server.createDatabase());
    const proxy = await startBlackholeProxy({ host: target.hostname, port: Number(target.port) });
    proxies.push(proxy);
    const url = new URL(target);
    url.port = String(proxy.port);
    proxy.blackhole();
    const refused = await open(url.toString(), 1_500);
    expect(refused._tag).toBe("Left");
    if (refused._tag !== "Left") return;
    expect(refused.left.code).toBe("DATABASE_UNAVAILABLE");
    expect(refused.left.reason).toContain("database.migrateTimeoutMs");
    await proxy.clientsOpen(0);
    proxy.forward();
    const started = await open(url.toString(), 10_000);
    expect(started._tag).toBe("Right");
  });
});
