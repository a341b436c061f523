import { it } from "@effect/vitest";
import type { SqlClient } from "@pocket-ai/runtime";
import { sql } from "drizzle-orm";
import { Effect, Exit, Scope, TestClock } from "effect";
import { describe, expect } from "vitest";
import { dialectMissing, tempStore } from "../../test/support/temp-database.js";
import { GatewayStore } from "../db/database.js";
import {
  newReplicaId,
  REPLICA_HEARTBEAT_MS,
  REPLICA_STALE_MS,
  replicaDirectory,
} from "./replica-directory.js";

/** The database server's time in ms. */
const DATABASE_NOW_MS = sql`cast(extract(epoch from clock_timestamp()) * 1000 as bigint)`;
const HOUR_MS = 3_600_000;

/** Sets a replica's row as last refreshed `ageMs` ago by the database's clock, as if it stopped beating then. */
const ageRow = (db: SqlClient, id: string, ageMs: number) =>
  Effect.promise(() =>
    db.run(sql`update gateway_replicas set last_seen_at = ${DATABASE_NOW_MS} - ${ageMs} where id = ${id}`),
  );

const rows = (db: SqlClient) =>
  Effect.promise(() =>
    db.all<{ id: string; url: string }>(sql`select id, url from gateway_replicas order by url`),
  );

describe.skipIf(dialectMissing("postgres"))("the replica directory on PostgreSQL", () => {
  it.effect(
    "replicas find each other by id; one that stops is gone at once, one that went quiet after its heartbeats",
    () =>
      Effect.gen(function* () {
        const db = yield* GatewayStore;
        yield* TestClock.setTime(1_000_000);
        const a = yield* replicaDirectory(db, newReplicaId());
        const b = yield* replicaDirectory(db, newReplicaId());
        const aScope = yield* Scope.make();
        yield* Scope.extend(a.join("http://127.0.0.1:1111"), aScope);
        yield* b.join("http://127.0.0.1:2222");
        expect((yield* rows(db)).map((r) => r.url)).toEqual([
          "http://127.0.0.1:1111",
          "http://127.0.0.1:2222",
        ]);

        // B read the table after A joined; A learns of B (joined later) on its first miss.
        expect(yield* b.peerUrl(a.id)).toBe("http://127.0.0.1:1111");
        expect(yield* a.peerUrl(b.id)).toBe("http://127.0.0.1:2222");
        expect(a.stats().peers).toBe(1);
        // Its own id, an id no replica has, and anything not an id: no peer.
        expect(yield* a.peerUrl(a.id)).toBeUndefined();
        expect(yield* a.peerUrl(newReplicaId())).toBeUndefined();
        for (const forged of ["../../etc", `${b.id}/x`, b.id.toUpperCase(), `${b.id} `, ""])
          expect(yield* a.peerUrl(forged)).toBeUndefined();

        // A stops: its row goes with it; B, told A failed to answer, asks again and forgets it.
        yield* Scope.close(aScope, Exit.void);
        expect((yield* rows(db)).map((r) => r.url)).toEqual(["http://127.0.0.1:2222"]);
        expect(yield* b.stillLive(a.id)).toBe(false);
        expect(yield* b.peerUrl(a.id)).toBeUndefined();

        // A replica that crashed (its row stays, never refreshed) is a peer only while its row is
        // fresh by the database's clock.
        const crashed = newReplicaId();
        yield* Effect.promise(() =>
          db.run(sql`insert into gateway_replicas (id, url, started_at, last_seen_at)
          values (${crashed}, 'http://127.0.0.1:3333', 0, ${DATABASE_NOW_MS} - ${REPLICA_STALE_MS / 2})`),
        );
        // A heartbeat later B reads the table again on a miss, and finds it.
        yield* TestClock.adjust(REPLICA_HEARTBEAT_MS);
        expect(yield* b.peerUrl(crashed)).toBe("http://127.0.0.1:3333");
        expect(yield* b.stillLive(crashed)).toBe(true);
        yield* ageRow(db, crashed, REPLICA_STALE_MS + 1);
        expect(yield* b.stillLive(crashed)).toBe(false);
        expect(yield* b.peerUrl(crashed)).toBeUndefined();
      }).pipe(Effect.scoped, Effect.provide(tempStore("postgres"))),
  );

  it.effect(
    "replicas whose clocks differ by an hour see each other live while they beat, and one gone once it stops",
    () =>
      Effect.gen(function* () {
        const db = yield* GatewayStore;
        const a = yield* replicaDirectory(db, newReplicaId());
        const b = yield* replicaDirectory(db, newReplicaId());
        // A's host runs an hour behind, B's an hour ahead (each beats on its own clock).
        yield* TestClock.setTime(Date.now() - HOUR_MS);
        yield* a.join("http://127.0.0.1:1111");
        yield* TestClock.setTime(Date.now() + HOUR_MS);
        yield* b.join("http://127.0.0.1:2222");
        expect(yield* b.peerUrl(a.id)).toBe("http://127.0.0.1:1111");
        expect(yield* b.stillLive(a.id)).toBe(true);
        yield* TestClock.setTime(Date.now() - HOUR_MS);
        expect(yield* a.peerUrl(b.id)).toBe("http://127.0.0.1:2222");
        expect(yield* a.stillLive(b.id)).toBe(true);

        // B stops beating (its host froze): once its row is older than three heartbeats by the
        // database's clock, A finds it gone, whatever B's clock said when it wrote the row.
        yield* ageRow(db, b.id, REPLICA_STALE_MS + 1);
        expect(yield* a.stillLive(b.id)).toBe(false);
        expect(yield* a.peerUrl(b.id)).toBeUndefined();
      }).pipe(Effect.scoped, Effect.provide(tempStore("postgres"))),
  );

  it.effect("a replica with no address reads its peers but writes no row", () =>
    Effect.gen(function* () {
      const db = yield* GatewayStore;
      const a = yield* replicaDirectory(db, newReplicaId());
      const b = yield* replicaDirectory(db, newReplicaId());
      yield* a.join(undefined);
      yield* b.join("http://127.0.0.1:2222");
      expect((yield* rows(db)).map((r) => r.id)).toEqual([b.id]);
      expect(yield* a.peerUrl(b.id)).toBe("http://127.0.0.1:2222");
    }).pipe(Effect.scoped, Effect.provide(tempStore("postgres"))),
  );
});

describe("the replica directory on SQLite (one process)", () => {
  it.effect("has no peers and writes nothing", () =>
    Effect.gen(function* () {
      const db = yield* GatewayStore;
      const a = yield* replicaDirectory(db, newReplicaId());
      yield* a.join("http://127.0.0.1:1111");
      expect(yield* a.peerUrl(newReplicaId())).toBeUndefined();
      const tables = yield* Effect.promise(() =>
        db.all<{ name: string }>(sql`select name from sqlite_master where name = 'gateway_replicas'`),
      );
      expect(tables).toEqual([]);
    }).pipe(Effect.scoped, Effect.provide(tempStore("sqlite"))),
  );
});
