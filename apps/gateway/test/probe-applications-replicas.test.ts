import { createHash } from "node:crypto";
import { createTestDatabase } from "@pocket-ai/runtime/testing";
import { sql } from "drizzle-orm";
import { Effect, Exit, Layer, ManagedRuntime, Scope } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { GatewayStore, type StoreLocation } from "../src/db/database.js";
import { probeApplicationPool } from "../src/routing/probe-application-pool.js";
import { seededRandom } from "../src/routing/selection-math.js";
import { settableClock } from "./support/settable-clock.js";
import { postgresServerUrl } from "./support/temp-database.js";

/**
 * Gateway replicas on one PostgreSQL database send probes under one pool of probe applications:
 * the table's. Were each replica to keep a pool of its own, a node would see probe traffic split
 * over applications differently from customer traffic, and a replica that restarted would take up
 * a share of the union, so some of its own applications would stop exactly at the restart.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const sha256 = (text: string) => createHash("sha256").update(text).digest();
const server = postgresServerUrl();

/**
 * Whether an application's session `session` holds `node`: one time in fifty (a large network,
 * where no pooled application's session holds a node now and then and one is minted for it).
 */
const holds = (node: number, session: number) => (app: string) =>
  sha256(`${app}:${node}:${session}`).readUInt32BE(0) < 0x051e_b851;

describe.skipIf(server === null)("probe applications of replicas on one PostgreSQL database", () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const f of cleanup.reverse()) await f();
    cleanup.length = 0;
  });

  it("are one pool, the table's, through retirements, mints and a restart", async () => {
    const location: StoreLocation = { url: await createTestDatabase(server!) };
    const { clock, time } = settableClock(Date.UTC(2030, 0, 1));

    /** A replica: its own connection pool and its own probe pool over the shared database. */
    const open = async (seed: number) => {
      const runtime = ManagedRuntime.make(Layer.merge(GatewayStore.layer(location), Layer.setClock(clock)));
      const scope = await runtime.runPromise(Scope.make());
      const pool = await runtime.runPromise(
        probeApplicationPool(seededRandom(seed)).pipe(Scope.extend(scope)),
      );
      let stopped = false;
      const stop = async () => {
        if (stopped) return;
        stopped = true;
        await runtime.runPromise(Scope.close(scope, Exit.void));
        await runtime.dispose();
      };
      cleanup.push(stop);
      return {
        apps: pool.apps,
        sync: () => runtime.runPromise(pool.sync),
        stop,
        table: () =>
          runtime.runPromise(
            Effect.flatMap(GatewayStore, (db) =>
              Effect.promise(() =>
                db.all<{ address: string; bornAt: number; retireAt: number; activityPpm: number }>(
                  sql`select address, born_at as "bornAt", retire_at as "retireAt", activity_ppm as "activityPpm"
                      from probe_applications where retire_at > ${time.at}`,
                ),
              ),
            ),
          ),
      };
    };
    type Replica = Awaited<ReturnType<typeof open>>;
    const sorted = (addresses: readonly string[]) => [...addresses].sort();
    /** Both replicas and the table hold the same applications (once both saved); returns them. */
    const agreed = async (a: Replica, b: Replica) => {
      const pools = [a, b].map((r) => sorted(r.apps.addresses(time.at)));
      await Promise.all([a.sync(), b.sync()]);
      const table = sorted((await a.table()).map((r) => r.address));
      for (const pool of pools) expect(pool).toEqual(table);
      return table;
    };

    // Two replicas start together on an empty table.
    let [a, b] = (await Promise.all([open(1), open(2)])) as [Replica, Replica];
    const first = await agreed(a, b);
    expect(first.length).toBe(64);

    // Seven weeks of probes through both, six hours apart: applications retire and are replaced,
    // and nodes no pooled application's session holds get one minted.
    const seen = new Set(first);
    for (let step = 0; step < 7 * 4 * 7; step++) {
      time.at += 6 * HOUR;
      const session = Math.floor(time.at / HOUR);
      for (const replica of [a, b]) {
        for (let node = 0; node < 4; node++) replica.apps.pick(time.at, holds(node, session));
      }
      // Both save at once (neither waits for the other), then each reads what the other saved.
      await Promise.all([a.sync(), b.sync()]);
      await Promise.all([a.sync(), b.sync()]);
      const pool = await agreed(a, b);
      // A retirement is replaced once, whichever replica saw it first: the pool stays at 64.
      expect(pool.length).toBe(64);
      for (const address of pool) seen.add(address);
    }
    // Applications came and went over those weeks (minted for nodes, retired and replaced), each
    // drawn as a lone gateway draws them: 7 to 180 days of life, activity 1 to 20.
    expect(seen.size).toBeGreaterThan(200);
    for (const row of await a.table()) {
      expect(row.retireAt - row.bornAt).toBeGreaterThanOrEqual(7 * DAY);
      expect(row.retireAt - row.bornAt).toBeLessThanOrEqual(180 * DAY);
      expect(row.activityPpm).toBeGreaterThanOrEqual(1_000_000);
      expect(row.activityPpm).toBeLessThanOrEqual(20_000_000);
    }

    // A replica restarts: it goes on with exactly the pool the other uses, and no application
    // stops at the restart.
    const before = await agreed(a, b);
    await b.stop();
    b = await open(3);
    expect(await agreed(a, b)).toEqual(before);
    // Its first probes go out under that pool too.
    for (let node = 0; node < 4; node++) {
      const app = b.apps.pick(time.at, () => true);
      expect(before).toContain(app);
    }
  }, 120_000);
});
