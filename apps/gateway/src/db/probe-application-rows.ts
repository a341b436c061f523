import { plainSql, type SqlClient } from "@pocket-ai/runtime";
import type { ProbeApplication, ProbePoolChange } from "../routing/probe-applications.js";

/** Millionths: an application's activity (a real number from 1 to 20) kept as an integer. */
const PPM = 1_000_000;

/**
 * The probe applications the gateway saved that are not retired at `now`, at most `limit`, in
 * the order of their addresses (replicas sharing one database all go on with the same ones).
 */
export async function loadProbeApplications(
  db: SqlClient,
  now: number,
  limit: number,
): Promise<ProbeApplication[]> {
  const rows = await db.all<{
    address: string;
    bornAt: number;
    retireAt: number;
    activityPpm: number;
  }>(plainSql`
    select address, born_at as "bornAt", retire_at as "retireAt", activity_ppm as "activityPpm"
    from probe_applications where retire_at > ${now} order by address limit ${limit}`);
  return rows.map((r) => ({
    address: r.address,
    bornAt: Number(r.bornAt),
    retireAt: Number(r.retireAt),
    activity: Number(r.activityPpm) / PPM,
  }));
}

/**
 * Saves steps of the pool in their order, in one transaction: the applications that joined it and
 * those that left it (retired or replaced); rows retired before `since` (left by a process that
 * stopped before it could remove them) go too.
 */
export function saveProbePoolChanges(
  db: SqlClient,
  changes: readonly ProbePoolChange[],
  since: number,
): Promise<void> {
  return db.transaction(async (tx) => {
    for (const change of changes) {
      for (const app of change.joined) {
        await tx.run(plainSql`
          insert into probe_applications (address, born_at, retire_at, activity_ppm)
          values (${app.address}, ${app.bornAt}, ${app.retireAt}, ${Math.round(app.activity * PPM)})
          on conflict (address) do nothing`);
      }
      for (const address of change.left) {
        await tx.run(plainSql`delete from probe_applications where address = ${address}`);
      }
    }
    await tx.run(plainSql`delete from probe_applications where retire_at <= ${since}`);
  });
}
