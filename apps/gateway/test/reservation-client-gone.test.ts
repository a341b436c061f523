import { openPostgres } from "@pocket-ai/runtime";
import { createTestDatabase } from "@pocket-ai/runtime/testing";
import { Effect, Exit, Scope } from "effect";
import { describe, expect, it } from "vitest";
import { PG_MIGRATIONS_FOLDER } from "../src/db/database.js";
import { startTestGateway } from "./support/gateway-test-harness.js";
import { postgresServerUrl } from "./support/temp-database.js";

const server = postgresServerUrl();

/**
 * A client that goes away while its relay's budget hold is being taken (the key's row busy with
 * another replica's reservation, a slow database) must not leave the hold behind: taken after the
 * client left, it is given back at once, not held against the key's budget until the stale-hold
 * sweep (35 minutes with the defaults).
 */
describe.skipIf(server === null)("a client that leaves while its reservation waits for the key's row", () => {
  it("leaves no hold on the key once the reservation is through", async () => {
    const url = await createTestDatabase(server!);
    const g = await startTestGateway({ database: { url } });
    // Two sessions of the test's own: one holds the key's row, one watches the server's lock waits.
    const scope = Effect.runSync(Scope.make());
    const { pool } = await Effect.runPromise(
      Scope.extend(openPostgres({ url, migrationsFolder: PG_MIGRATIONS_FOLDER, poolSize: 2 }), scope),
    );
    const sql = await pool.connect();
    const watcher = await pool.connect();
    try {
      const { key, secret } = await g.newKey({ budgetMicroUsd: 1_000_000 });
      // Another session holds the key's row, as a reservation on another replica does.
      await sql.query("begin");
      await sql.query("select id from api_keys where id = $1 for update", [key.id]);

      const leaving = new AbortController();
      const request = fetch(`${g.gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "llama-2-13b", messages: [{ role: "user", content: "hi" }] }),
        signal: leaving.signal,
      }).catch((e: Error) => e.name);
      const lockWaits = async () =>
        (
          await watcher.query(
            "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
          )
        ).rows[0].n as number;
      const othersActive = async () =>
        (
          await watcher.query(
            "select count(*)::int as n from pg_stat_activity where datname = current_database() and state <> 'idle' and pid <> pg_backend_pid()",
          )
        ).rows[0].n as number;
      while ((await lockWaits()) === 0);
      leaving.abort();
      expect(await request).toBe("AbortError");
      // A later request answered: the gateway has seen the first one's connection close.
      expect((await fetch(`${g.gateway.url}/health`)).status).toBe(200);
      await sql.query("rollback");
      // The reservation's statement ran and committed: no other session runs one any more.
      while ((await othersActive()) > 0);
      // The request's work is over once the front door counts it as closed by its client.
      for (;;) {
        const metrics = await (await fetch(`${g.gateway.url}/metrics`)).text();
        if (/pocket_gateway_requests_total\{[^}]*status="client-closed"[^}]*\} 1/.test(metrics)) break;
      }
      const held = await sql.query(
        "select reserved_micro_usd as reserved, (select count(*)::int from key_reservations where key_id = $1 and open = 1) as open from api_keys where id = $1",
        [key.id],
      );
      expect(held.rows[0]).toEqual({ reserved: 0, open: 0 });
      const usage = await g.admin.admin.usage.byKey.query({ keyId: key.id });
      expect(usage.reservedMicroUsd).toBe(0);
    } finally {
      sql.release();
      watcher.release();
      await Effect.runPromise(Scope.close(scope, Exit.void));
      await g.close();
    }
  }, 120_000);
});
