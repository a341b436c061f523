import { sql } from "drizzle-orm";
import { ManagedRuntime } from "effect";
import { describe, expect, it } from "vitest";
import {
  dialectMissing,
  STORE_DIALECTS,
  type StoreDialect,
  tempStore,
} from "../../test/support/temp-database.js";
import { GatewayStore } from "../db/database.js";
import { releaseStaleReservations } from "./budget-ledger.js";
import { reservationId, STALE_RESERVATION_MS } from "./limits.js";
import { BUCKET_MS, firstBucket } from "./rate-window.js";

const NOW = 1_800_000_000_000;
const BEFORE = NOW - STALE_RESERVATION_MS;
const CUT = firstBucket(NOW) * BUCKET_MS;
const KEYS = 40;

interface Row {
  readonly id: string;
  readonly keyId: string;
  readonly at: number;
  readonly held: number;
  readonly open: 0 | 1;
}

/** The rows a sweep at `NOW` gives back (open, older than the stale age) or drops (settled, out of the window). */
const swept = (r: Row) => (r.open === 1 && r.at < BEFORE) || (r.open === 0 && r.at < CUT);

/**
 * Reservations of 40 keys, more of each kind than one batch of the sweep holds: held ones older
 * than the stale age, settled ones out of the window, and the rows of the last minute and of
 * relays still running, which stay; a clock that ran ahead. Then ids that do not start with their
 * time (a version before time-ordered ids, other shapes), sorting before, among and after them.
 */
function rows(): Row[] {
  const out: Row[] = [];
  const add = (n: number, at: (i: number) => number, open: 0 | 1, held: number) => {
    for (let i = 0; i < n; i++) {
      const t = at(i);
      out.push({ id: reservationId(t), keyId: `key${i % KEYS}`, at: t, held, open });
    }
  };
  add(1_100, (i) => BEFORE - 1 - i * 997, 1, 7); // crashed processes' holds
  add(2_300, (i) => CUT - 1 - (i % 600) * 100, 0, 0); // settled, out of the window
  add(1_500, (i) => CUT + (i % 60) * 1_000, 0, 0); // settled, in the window
  add(300, (i) => BEFORE + i * 1_000, 1, 5); // relays still running, some for minutes
  add(3, (i) => NOW + 10 * 60_000 + i, 1, 5); // a replica whose clock ran ahead
  const legacy = (id: string, at: number, open: 0 | 1, held: number) =>
    out.push({ id, keyId: "key1", at, held, open });
  legacy("res_0c5e2f1a-9b7d-4c3e-8f21-6a4b3c2d1e0f", BEFORE - 5, 1, 3);
  legacy("res_f3a9c1e2-5d6b-4e7f-8a9b-0c1d2e3f4a5b", BEFORE - 6, 1, 3);
  legacy("res_f3a9c1e2-5d6b-4e7f-8a9b-0c1d2e3f4a5c", CUT - 7, 0, 0);
  legacy("r1", BEFORE - 8, 1, 3);
  legacy("zz-9", CUT - 9, 0, 0);
  legacy("res_f3a9c1e2-5d6b-4e7f-8a9b-0c1d2e3f4a5d", NOW - 1_000, 1, 3); // recent: stays
  return out;
}

const db = (dialect: StoreDialect) => ManagedRuntime.make(tempStore(dialect));

describe.each(STORE_DIALECTS)("the reservations' sweep on %s", (dialect: StoreDialect) => {
  describe.skipIf(dialectMissing(dialect))(dialect, () => {
    it("gives back every stale hold and drops every settled row out of the window, in batches, whatever the id", async () => {
      const store = db(dialect);
      const sqlDb = await store.runPromise(GatewayStore);
      const all = rows();
      await sqlDb.run(
        sql`insert into applications (id, name, address, status, created_at) values ('a1', 'Acme', 'pokt1acme', 'active', 0)`,
      );
      for (let k = 0; k < KEYS; k++) {
        const reserved = all
          .filter((r) => r.keyId === `key${k}` && r.open === 1)
          .reduce((s, r) => s + r.held, 0);
        await sqlDb.run(sql`insert into api_keys (id, application_id, name, prefix, hash, status, reserved_micro_usd, created_at)
          values (${`key${k}`}, 'a1', 'k', 'p', ${`h${k}`}, 'active', ${reserved}, 0)`);
      }
      for (let i = 0; i < all.length; i += 500) {
        const values = all
          .slice(i, i + 500)
          .map((r) => sql`(${r.id}, ${r.keyId}, ${r.at}, 1, 10, ${r.held}, ${r.open})`);
        await sqlDb.run(sql`insert into key_reservations (id, key_id, at, requests, tokens, held_micro_usd, open)
          values ${sql.join(values, sql`, `)}`);
      }

      const released = await releaseStaleReservations(sqlDb, BEFORE, NOW);
      expect(released).toBe(all.filter((r) => r.open === 1 && swept(r)).length);
      const left = await sqlDb.all<{ id: string }>(sql`select id from key_reservations`);
      expect(left.map((r) => r.id).sort()).toEqual(
        all
          .filter((r) => !swept(r))
          .map((r) => r.id)
          .sort(),
      );
      const keys = await sqlDb.all<{ id: string; reserved: number }>(
        sql`select id, reserved_micro_usd as "reserved" from api_keys`,
      );
      for (const k of keys) {
        const held = all.filter((r) => r.keyId === k.id && r.open === 1 && !swept(r));
        expect(Number(k.reserved), k.id).toBe(held.reduce((s, r) => s + r.held, 0));
      }
      // Nothing left to do: a second sweep changes nothing.
      expect(await releaseStaleReservations(sqlDb, BEFORE, NOW)).toBe(0);
      expect(await sqlDb.all(sql`select id from key_reservations`)).toHaveLength(left.length);
      await store.dispose();
    }, 60_000);

    it("an id that does not start with its time and sorts among the last minute's is swept once its time passed", async () => {
      const store = db(dialect);
      const sqlDb = await store.runPromise(GatewayStore);
      await sqlDb.run(
        sql`insert into applications (id, name, address, status, created_at) values ('a1', 'Acme', 'pokt1acme', 'active', 0)`,
      );
      await sqlDb.run(sql`insert into api_keys (id, application_id, name, prefix, hash, status, reserved_micro_usd, created_at)
        values ('k1', 'a1', 'k', 'p', 'h1', 'active', 3, 0)`);
      // Among the ids of the reservations made in the minute before `NOW`, dated an hour earlier.
      const among = `${reservationId(NOW - 30_000).slice(0, 16)}-legacy`;
      await sqlDb.run(sql`insert into key_reservations (id, key_id, at, requests, tokens, held_micro_usd, open)
        values (${among}, 'k1', ${NOW - 60 * 60_000}, 1, 10, 3, 1)`);
      expect(await releaseStaleReservations(sqlDb, BEFORE, NOW)).toBe(0);
      const later = NOW + STALE_RESERVATION_MS;
      expect(await releaseStaleReservations(sqlDb, later - STALE_RESERVATION_MS, later)).toBe(1);
      expect(await sqlDb.all(sql`select id from key_reservations`)).toEqual([]);
      const key = await sqlDb.get<{ reserved: number }>(
        sql`select reserved_micro_usd as "reserved" from api_keys where id = 'k1'`,
      );
      expect(Number(key?.reserved)).toBe(0);
      await store.dispose();
    });
  });
});
