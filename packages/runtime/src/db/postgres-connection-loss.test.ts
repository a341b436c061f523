import { createConnection, createServer, type Server } from "node:net";
import { Effect } from "effect";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postgresAvailability, startTestPostgres, type TestPostgres } from "../../test/support/testing.js";
import { openPostgres } from "./postgres.js";
import { plainSql, postgresClient } from "./sql-client.js";

/**
 * A PostgreSQL server that restarts, fails over or ends a backend (`pg_terminate_backend`, an idle
 * timeout) sends the connection a fatal error and closes it. Whatever the connection was doing,
 * the process must go on: the statement or transaction that used it fails, nothing else.
 */
describe.skipIf(!postgresAvailability().available)("a PostgreSQL connection the server ends", () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startTestPostgres();
  }, 120_000);
  afterAll(() => server?.stop());

  /** Ends the backend `pid` from a connection of its own, and waits until the server has dropped it. */
  const terminate = async (pid: number) => {
    const killer = new pg.Client({ connectionString: server.url });
    await killer.connect();
    try {
      await killer.query("select pg_terminate_backend($1)", [pid]);
      for (;;) {
        const left = await killer.query("select 1 from pg_stat_activity where pid = $1", [pid]);
        if (left.rowCount === 0) break;
      }
    } finally {
      await killer.end();
    }
  };

  it("ended while a transaction holds it between statements: the transaction fails, the pool serves on", async () => {
    const pool = new pg.Pool({ connectionString: await server.createDatabase(), max: 2 });
    pool.on("error", () => undefined);
    const db = postgresClient(pool);
    let socketClosed: Promise<void> | undefined;
    pool.on("acquire", (client) => {
      const stream = (client as unknown as { connection: { stream: NodeJS.EventEmitter } }).connection.stream;
      socketClosed = new Promise((resolve) => stream.once("close", () => resolve()));
    });
    const outcome = await db
      .transaction(async (tx) => {
        const row = await tx.get<{ pid: number }>(plainSql`select pg_backend_pid() as pid`);
        await terminate(row!.pid);
        // The server's fatal error and the closed socket reach the connection while no statement runs on it.
        await socketClosed;
        return "committed";
      })
      .then(
        (v) => v,
        (e: Error) => `failed: ${e.message}`,
      );
    expect(outcome).toMatch(/^failed: /);
    expect(await pool.query("select 1 as one")).toMatchObject({ rows: [{ one: 1 }] });
    await pool.end();
  });

  it("ended as it is handed out, in the packet that made it ready: the transaction fails, the process goes on", async () => {
    // A proxy in front of the server ends the first connection right after its ReadyForQuery, in
    // the same packet, as a server restarting just as a pool connects does.
    const target = new URL(await server.createDatabase());
    let first = true;
    const proxy: Server = createServer((client) => {
      const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
      client.pipe(upstream);
      const endIt = first;
      first = false;
      if (!endIt) {
        upstream.pipe(client);
        return;
      }
      let pending = Buffer.alloc(0);
      upstream.on("data", (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        for (let at = 0; at + 5 <= pending.length; ) {
          const length = pending.readInt32BE(at + 1);
          if (at + 1 + length > pending.length) break;
          if (pending[at] === 0x5a /* ReadyForQuery */) {
            client.end(Buffer.concat([pending.subarray(0, at + 1 + length), fatalMessage()]));
            upstream.destroy();
            return;
          }
          at += 1 + length;
        }
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const port = (proxy.address() as { port: number }).port;
    const url = new URL(target);
    url.port = String(port);
    const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
    pool.on("error", () => undefined);
    const db = postgresClient(pool);
    const outcome = await db
      .transaction(async (tx) => (await tx.get<{ one: number }>(plainSql`select 1 as one`))?.one)
      .then(
        (v) => `committed ${v}`,
        (e: Error) => `failed: ${e.message}`,
      );
    expect(outcome).toMatch(/^failed: /);
    expect(await db.transaction(async (tx) => tx.get(plainSql`select 1 as one`))).toEqual({ one: 1 });
    await pool.end();
    await new Promise((resolve) => proxy.close(resolve));
  });

  it("ended while the migrations run at start: the start fails with DATABASE_UNAVAILABLE", async () => {
    const url = await server.createDatabase();
    // A migration that ends its own backend, as a server restarting during a rollout would.
    const { mkdtempSync, mkdirSync, writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const folder = mkdtempSync(join(tmpdir(), "pocket-pg-migrations-"));
    mkdirSync(join(folder, "meta"));
    writeFileSync(
      join(folder, "meta", "_journal.json"),
      JSON.stringify({
        version: "7",
        dialect: "postgresql",
        entries: [{ idx: 0, version: "7", when: 1, tag: "0000_end", breakpoints: true }],
      }),
    );
    writeFileSync(join(folder, "0000_end.sql"), "select pg_terminate_backend(pg_backend_pid());");
    const exit = await Effect.runPromiseExit(Effect.scoped(openPostgres({ url, migrationsFolder: folder })));
    expect(exit._tag).toBe("Failure");
    expect(JSON.stringify(exit)).toContain("DATABASE_UNAVAILABLE");
  });
});

/** A server's FATAL ErrorResponse for an ended backend (57P01). */
function fatalMessage(): Buffer {
  const field = (code: string, value: string) =>
    Buffer.concat([Buffer.from(code), Buffer.from(`${value}\0`)]);
  const body = Buffer.concat([
    field("S", "FATAL"),
    field("V", "FATAL"),
    field("C", "57P01"),
    field("M", "terminating connection due to administrator command"),
    Buffer.from([0]),
  ]);
  const header = Buffer.alloc(5);
  header[0] = 0x45; // 'E'
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}
