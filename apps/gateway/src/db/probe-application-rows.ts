import { plainSql, type SqlClient } from "@pocket-ai/runtime";
import type { ProbeApplication } from "../routing/probe-applications.js";

/** Millionths: an application's activity (a real number from 1 to 20) kept as an integer. */
const PPM = 1_000_000;

/**
 * The PostgreSQL advisory lock the pool's changes are made under (transaction-scoped): replicas
 * that see one retirement at once replace it once. SQLite's `BEGIN IMMEDIATE` serializes alike.
 */
const PROBE_POOL_LOCK = 0x70726f62; // "prob"

/** The probe applications in the table that are not retired at `now`, in the order of their addresses. */
export async function loadProbeApplications(db: SqlClient, now: number): Promise<ProbeApplication[]> {
  const rows = await db.all<{
    address: string;
    bornAt: number;
    retireAt: number;
    activityPpm: number;
  }>(plainSql`
    select address, born_at as "bornAt", retire_at as "retireAt", activity_ppm as "activityPpm"
    from probe_applications where retire_at > ${now} order by address`);
  return rows.map((r) => ({
    address: r.address,
    bornAt: Number(r.bornAt),
    retireAt: Number(r.retireAt),
    activity: Number(r.activityPpm) / PPM,
  }));
}

const insert = (db: SqlClient, app: ProbeApplication) =>
  db.run(plainSql`
    insert into probe_applications (address, born_at, retire_at, activity_ppm)
    values (${app.address}, ${app.bornAt}, ${app.retireAt}, ${Math.round(app.activity * PPM)})
    on conflict (address) do nothing`);

/**
 * The pool every process on the database uses, brought up to date at `now`, in the order of
 * addresses. The applications a process minted for probes (`minted`, already carrying them) join
 * it, each displacing the one due to retire soonest while the pool is over `poolSize`; retired
 * ones leave; a pool under `poolSize` is refilled with `fresh` ones. Changes are made under one
 * lock, the pool counted inside it: processes that see one retirement at once replace it once.
 * Nothing is written when nothing was minted and the pool is full.
 */
export async function syncProbeApplications(
  db: SqlClient,
  options: {
    readonly minted: readonly ProbeApplication[];
    readonly now: number;
    readonly poolSize: number;
    readonly fresh: (now: number) => ProbeApplication;
  },
): Promise<ProbeApplication[]> {
  const { minted, now, poolSize, fresh } = options;
  if (minted.length === 0) {
    const live = await loadProbeApplications(db, now);
    if (live.length >= poolSize) return live;
  }
  return db.transaction(async (tx) => {
    if (tx.dialect === "postgres") {
      await tx.run(plainSql`select pg_advisory_xact_lock(cast(${PROBE_POOL_LOCK} as bigint))`);
    }
    let joined = 0;
    for (const app of minted) joined += await insert(tx, app);
    await tx.run(plainSql`delete from probe_applications where retire_at <= ${now}`);
    const live = await loadProbeApplications(tx, now);
    // A pool over its size (by minted applications, or left by a version that kept one pool per
    // replica) shrinks back by one for each application minted, and by retirements.
    const mintedHere = new Set(minted.map((a) => a.address));
    const displaced = new Set(
      live
        .filter((a) => !mintedHere.has(a.address))
        .sort((a, b) => a.retireAt - b.retireAt || (a.address < b.address ? -1 : 1))
        .slice(0, Math.max(0, Math.min(joined, live.length - poolSize)))
        .map((a) => a.address),
    );
    for (const address of displaced) {
      await tx.run(plainSql`delete from probe_applications where address = ${address}`);
    }
    const pool = live.filter((a) => !displaced.has(a.address));
    while (pool.length < poolSize) {
      const app = fresh(now);
      await insert(tx, app);
      pool.push(app);
    }
    return pool.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  });
}
