import { Effect, Exit, Scope } from "effect";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postgresAvailability, startTestPostgres, type TestPostgres } from "../../test/support/testing.js";
import { type OpenedPostgres, openPostgres } from "./postgres.js";
import { plainSql } from "./sql-client.js";
import { migrations } from "./test-migrations.js";

/**
 * A row lock held by a session that does not go on — a replica frozen or cut off between two
 * statements of a transaction, an operator's transaction left open — must neither hold the
 * statements waiting for it forever (each holds one of a small pool's connections: a few of them
 * stop every request of the process) nor keep the row locked for good.
 */
describe.skipIf(!postgresAvailability().available)("a lock another session holds", () => {
  let server: TestPostgres;
  const scopes: Scope.CloseableScope[] = [];
  beforeAll(async () => {
    server = await startTestPostgres();
  }, 120_000);
  afterAll(async () => {
    for (const scope of scopes) await Effect.runPromise(Scope.close(scope, Exit.void));
    await server?.stop();
  });

  const open = async (
    url: string,
    options: { lockTimeoutMs?: number; idleInTransactionTimeoutMs?: number },
  ) => {
    const scope = Effect.runSync(Scope.make());
    scopes.push(scope);
    return Effect.runPromise(
      Scope.extend(openPostgres({ url, migrationsFolder: migrations(), ...options }), scope),
    );
  };

  const keyRow = async (opened: OpenedPostgres) => {
    await opened.client.run(
      plainSql`create table if not exists keys (id text primary key, spent bigint not null)`,
    );
    await opened.client.run(plainSql`insert into keys (id, spent) values ('k', 0) on conflict do nothing`);
  };

  it("fails a statement that waits for it, with the server's lock-timeout code, and frees its connection", async () => {
    const url = await server.createDatabase();
    const opened = await open(url, { lockTimeoutMs: 200 });
    await keyRow(opened);
    // Another session takes the row and keeps it, as an open transaction that never goes on.
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query("begin");
      await holder.query("select id from keys where id = 'k' for update");
      const outcome = await opened.client
        .run(plainSql`update keys set spent = spent + 1 where id = 'k'`)
        .then(
          () => "updated",
          (e: { code?: string }) => `failed ${e.code}`,
        );
      expect(outcome).toBe("failed 55P03");
      expect(opened.pool.waitingCount).toBe(0);
      expect(await opened.client.get(plainSql`select 1 as one`)).toEqual({ one: 1 });
      await holder.query("rollback");
    } finally {
      await holder.end();
    }
  });

  it("ends a transaction of its own left idle while it holds the lock, so the others get the row", async () => {
    const url = await server.createDatabase();
    // The replica that stops mid-transaction, and one that goes on waiting for the row.
    const stuck = await open(url, { idleInTransactionTimeoutMs: 200 });
    const waiting = await open(url, { lockTimeoutMs: 600_000 });
    await keyRow(stuck);
    const connection = await stuck.pool.connect();
    connection.on("error", () => undefined);
    await connection.query("begin");
    await connection.query("select id from keys where id = 'k' for update");
    // Nothing more runs on `connection`: its process is as good as frozen.
    const changed = await waiting.client.run(plainSql`update keys set spent = spent + 1 where id = 'k'`);
    expect(changed).toBe(1);
    expect(await waiting.client.get(plainSql`select spent from keys where id = 'k'`)).toEqual({ spent: 1 });
    connection.release(true);
  });
});
