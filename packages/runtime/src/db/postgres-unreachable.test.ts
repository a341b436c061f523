import { Effect, Exit, Scope } from "effect";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BlackholeProxy, startBlackholeProxy } from "../../test/support/blackhole-proxy.js";
import { postgresAvailability, startTestPostgres, type TestPostgres } from "../../test/support/testing.js";
import { databaseErrorCode, databaseUnavailable } from "./database-failure.js";
import { openPostgres } from "./postgres.js";
import { plainSql } from "./sql-client.js";
import { migrations } from "./test-migrations.js";

/**
 * A PostgreSQL server that stops answering without closing anything (a network partition, a frozen
 * host: packets dropped, no reset) must not hold a statement, its request, its pool connection or
 * its transaction for as long as the kernel keeps the socket: past the client's deadline the
 * connection is closed, the call fails as the database being unavailable, and the pool opens new
 * connections once the server answers again.
 */
describe.skipIf(!postgresAvailability().available)("a PostgreSQL server that stops answering", () => {
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

  /** A pool on a fresh database, through a proxy that can blackhole it. */
  const open = async (options: { queryTimeoutMs?: number; acquireTimeoutMs?: number }) => {
    const target = new URL(await server.createDatabase());
    const proxy = await startBlackholeProxy({ host: target.hostname, port: Number(target.port) });
    proxies.push(proxy);
    const url = new URL(target);
    url.port = String(proxy.port);
    const scope = Effect.runSync(Scope.make());
    scopes.push(scope);
    const opened = await Effect.runPromise(
      Scope.extend(
        openPostgres({ url: url.toString(), migrationsFolder: migrations(), poolSize: 2, ...options }),
        scope,
      ),
    );
    return { proxy, database: target.pathname.slice(1), ...opened };
  };

  /**
   * Resolves once the server has exactly `count` sessions on `database`: a connection the client
   * closed while the proxy held its bytes ends on the server once the proxy forwards its close.
   */
  const serverSessions = async (database: string, count: number) => {
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    try {
      for (;;) {
        const found = await admin.query(
          "select count(*)::int as n from pg_stat_activity where datname = $1",
          [database],
        );
        if (found.rows[0].n === count) return;
      }
    } finally {
      await admin.end();
    }
  };

  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => "answered",
      (e: unknown) => ({ unavailable: databaseUnavailable(e), code: databaseErrorCode(e) }),
    );

  it("fails a statement in flight as unavailable, closes its connection, and serves again once the server answers", async () => {
    const { proxy, database, pool, client } = await open({ queryTimeoutMs: 2_000 });
    expect(await client.get(plainSql`select 1 as one`)).toEqual({ one: 1 });
    expect(pool.totalCount).toBe(1);

    proxy.blackhole();
    const inFlight = failure(client.get(plainSql`select 2 as two`));
    await proxy.clientBytesHeld();
    expect(await inFlight).toEqual({ unavailable: true, code: "ETIMEDOUT" });
    // The connection left the pool and its socket was closed, not kept for the kernel to time out.
    expect(pool.totalCount).toBe(0);
    expect(pool.waitingCount).toBe(0);
    await proxy.clientsOpen(0);

    proxy.forward();
    expect(await client.get(plainSql`select 3 as three`)).toEqual({ three: 3 });
    expect(pool.totalCount).toBe(1);
    expect(proxy.openClients).toBe(1);
    await serverSessions(database, 1);
  });

  it("fails a transaction whose statement gets no answer as unavailable, and frees its connection", async () => {
    const { proxy, database, pool, client } = await open({ queryTimeoutMs: 2_000 });
    await client.run(plainSql`insert into t (id, v) values (1, 'a')`);

    const outcome = failure(
      client.transaction(async (tx) => {
        await tx.run(plainSql`update t set v = 'b' where id = 1`);
        proxy.blackhole();
        await tx.run(plainSql`update t set v = 'c' where id = 1`);
        return "committed";
      }),
    );
    await proxy.clientBytesHeld();
    expect(await outcome).toEqual({ unavailable: true, code: "ETIMEDOUT" });
    expect(pool.totalCount).toBe(0);
    await proxy.clientsOpen(0);

    proxy.forward();
    // The server got the transaction's held bytes and its end: it rolled back, nothing of it stays.
    expect(await client.get(plainSql`select v from t where id = 1`)).toEqual({ v: "a" });
    expect(await client.transaction((tx) => tx.run(plainSql`update t set v = 'd' where id = 1`))).toBe(1);
    expect(pool.totalCount).toBe(1);
    expect(proxy.openClients).toBe(1);
    await serverSessions(database, 1);
  });

  it("fails a statement that needs a new connection to a server that does not answer, leaving no connection behind", async () => {
    const { proxy, pool, client } = await open({ acquireTimeoutMs: 2_000 });
    // No connection is open yet: the statement must make one, and its handshake gets no answer.
    expect(pool.totalCount).toBe(0);
    proxy.blackhole();
    const outcome = failure(client.get(plainSql`select 1 as one`));
    await proxy.clientBytesHeld();
    expect(await outcome).toMatchObject({ unavailable: true });
    expect(pool.totalCount).toBe(0);
    await proxy.clientsOpen(0);

    proxy.forward();
    expect(await client.get(plainSql`select 1 as one`)).toEqual({ one: 1 });
    expect(pool.totalCount).toBe(1);
  });
});
