import { randomBytes } from "node:crypto";
import type { SqlClient } from "@pocket-ai/runtime";
import { sql } from "drizzle-orm";
import { Clock, Duration, Effect, Schedule, type Scope } from "effect";
import { type StorageError, storeRunner } from "../db/database.js";

/** How often a replica refreshes its row in `gateway_replicas` and reloads its peers. */
export const REPLICA_HEARTBEAT_MS = 5_000;
/**
 * A replica whose row was not refreshed for this long (three heartbeats) is gone. Rows are stamped
 * and compared by the database's clock, the one clock every replica shares: replicas' own clocks
 * may differ by more than this (a host without time sync, a VM resumed), which would make a live
 * replica look gone to the others, or a gone one live.
 */
export const REPLICA_STALE_MS = 3 * REPLICA_HEARTBEAT_MS;
/** Rows of replicas gone this long are deleted (a replica that crashed never deleted its own). */
const FORGET_AFTER_MS = 24 * 3_600_000;
/**
 * A peer missing from memory (it started after the last reload) is looked up again at most this
 * often, concurrent misses sharing one query: ids naming no replica cannot load the database.
 */
const RELOAD_ON_MISS_MS = 250;

/** The database server's time in ms, the clock rows of `gateway_replicas` are stamped and compared by. */
const DATABASE_NOW_MS = sql`cast(extract(epoch from clock_timestamp()) * 1000 as bigint)`;

/** A replica id: 8 random bytes, hex; new at each start (a restarted replica holds no images). */
export const REPLICA_ID = /^[0-9a-f]{16}$/;
export const newReplicaId = (): string => randomBytes(8).toString("hex");

/**
 * The replicas sharing this gateway's database, as this one sees them: its own id, and where each
 * live peer is reached. Only ids and URLs are shared; nothing a customer sent.
 */
export interface ReplicaDirectory {
  /** This replica's id (image ids carry it). */
  readonly id: string;
  /**
   * The URL of the live peer with this id; `undefined` for this replica's own id, an unknown
   * id, or a peer that stopped (deleted its row) or missed its heartbeats.
   */
  readonly peerUrl: (id: string) => Effect.Effect<string | undefined, StorageError>;
  /**
   * Asks the database again whether a peer is live (after it failed to answer: it may have just
   * stopped); a peer that is not is forgotten here at once.
   */
  readonly stillLive: (id: string) => Effect.Effect<boolean, StorageError>;
  /**
   * Registers this replica at `advertiseUrl` for the scope's lifetime: writes its row, refreshes
   * it every {@link REPLICA_HEARTBEAT_MS} (reloading the peers each time) and deletes it when the
   * scope closes, so peers stop asking at once. Without an address, it only keeps the peers fresh.
   */
  readonly join: (advertiseUrl: string | undefined) => Effect.Effect<void, StorageError, Scope.Scope>;
  /** One heartbeat (what `join` repeats): refresh the row, forget long-gone rows, reload peers. */
  readonly beat: Effect.Effect<void, StorageError>;
  readonly stats: () => { readonly peers: number };
}

interface Peer {
  readonly url: string;
  /** When its row was last refreshed, on this replica's clock (see `load`). */
  readonly lastSeenAt: number;
}

/** One process on SQLite: no peers, nothing written. */
export const soloDirectory = (id: string): ReplicaDirectory => ({
  id,
  peerUrl: () => Effect.succeed(undefined),
  stillLive: () => Effect.succeed(false),
  join: () => Effect.void,
  beat: Effect.void,
  stats: () => ({ peers: 0 }),
});

/**
 * The directory of replica `id` over the gateway's database: on PostgreSQL, the
 * `gateway_replicas` table; on SQLite (one process), {@link soloDirectory}.
 */
export function replicaDirectory(db: SqlClient, id: string): Effect.Effect<ReplicaDirectory> {
  if (db.dialect !== "postgres") return Effect.succeed(soloDirectory(id));
  return Effect.gen(function* () {
    const use = storeRunner(db);
    let peers = new Map<string, Peer>();
    let advertised: string | undefined;

    // A row's age is the database's (its stamp against the database's clock); in memory it is
    // counted on from this replica's clock at the time it was read, never compared with a stamp.
    const load = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis;
      const rows = yield* use("replicas.load", (tx) =>
        tx.all<{ id: string; url: string; ageMs: number | string }>(sql`
          select id, url, ${DATABASE_NOW_MS} - last_seen_at as "ageMs" from gateway_replicas
          where id <> ${id} and last_seen_at >= ${DATABASE_NOW_MS} - ${REPLICA_STALE_MS}`),
      );
      peers = new Map(rows.map((r) => [r.id, { url: r.url, lastSeenAt: now - Number(r.ageMs) }]));
    });

    const beat = Effect.gen(function* () {
      const url = advertised;
      if (url !== undefined) {
        yield* use("replicas.beat", (tx) =>
          tx.run(sql`
            insert into gateway_replicas (id, url, started_at, last_seen_at)
            values (${id}, ${url}, ${DATABASE_NOW_MS}, ${DATABASE_NOW_MS})
            on conflict (id) do update set url = excluded.url, last_seen_at = excluded.last_seen_at`),
        );
      }
      yield* use("replicas.forget", (tx) =>
        tx.run(
          sql`delete from gateway_replicas where last_seen_at < ${DATABASE_NOW_MS} - ${FORGET_AFTER_MS}`,
        ),
      );
      yield* load;
    });

    const join = (advertiseUrl: string | undefined) =>
      Effect.gen(function* () {
        yield* Effect.acquireRelease(
          Effect.suspend(() => {
            advertised = advertiseUrl;
            return beat;
          }),
          () => {
            if (advertised === undefined) return Effect.void;
            advertised = undefined;
            return use("replicas.leave", (tx) =>
              tx.run(sql`delete from gateway_replicas where id = ${id}`),
            ).pipe(Effect.ignore);
          },
        );
        yield* Effect.forkScoped(
          Effect.repeat(
            Effect.delay(
              beat.pipe(Effect.catchAll((e) => Effect.logWarning("replica heartbeat failed", e))),
              Duration.millis(REPLICA_HEARTBEAT_MS),
            ),
            Schedule.forever,
          ),
        );
      });

    const reloadOnMiss = yield* Effect.cachedWithTTL(load, Duration.millis(RELOAD_ON_MISS_MS));

    const fresh = (peer: Peer | undefined, now: number) =>
      peer !== undefined && now - peer.lastSeenAt <= REPLICA_STALE_MS ? peer.url : undefined;

    const peerUrl = (peerId: string) =>
      Effect.gen(function* () {
        if (peerId === id || !REPLICA_ID.test(peerId)) return undefined;
        const known = fresh(peers.get(peerId), yield* Clock.currentTimeMillis);
        if (known !== undefined) return known;
        yield* reloadOnMiss;
        return fresh(peers.get(peerId), yield* Clock.currentTimeMillis);
      });

    const stillLive = (peerId: string) =>
      Effect.gen(function* () {
        const row = yield* use("replicas.check", (tx) =>
          tx.get<{ id: string }>(sql`
            select id from gateway_replicas
            where id = ${peerId} and last_seen_at >= ${DATABASE_NOW_MS} - ${REPLICA_STALE_MS}`),
        );
        if (row === undefined) peers.delete(peerId);
        return row !== undefined;
      });

    return { id, peerUrl, stillLive, join, beat, stats: () => ({ peers: peers.size }) };
  });
}
