/**
 * `pnpm --filter @pocket-ai/bench bench:rate-window`: what one reservation of a key with RPM and
 * TPM limits costs as the key's window fills. For each store (SQLite; PostgreSQL when its binaries
 * are installed: a throwaway server on loopback) and each window size W, a key gets W settled
 * reservations spread over the last 50 s of its window, then N more reserve + settle pairs are
 * timed one after the other, through the gateway's own `Limits` (the same transactions a relay
 * runs, without HTTP). Reported: milliseconds per pair and its ratio to the smallest window, and
 * on PostgreSQL the rows the database itself read from `key_reservations` and `key_rate_buckets`
 * per reservation (`pg_stat_user_tables`: index entries plus sequentially read rows). The clock is
 * the bench's own, a day ahead, so neither a slow fill nor the sweep pushes entries out of the window.
 * Flags: `--windows 100,10000` (W), `--reservations <n>` (N, default 300), `--no-limits` (a key
 * without RPM and TPM: what recording the window costs a key that is never checked), `--smoke`. Nothing here
 * gates CI; on a loaded machine read the ratios and the rows, not the milliseconds.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Accounts,
  GatewayStore,
  Limits,
  limitsRuntime,
  type StoreLocation,
  sql,
} from "@pocket-ai/gateway/testing";
import { createTestDatabase, findPostgresBin, startTestPostgres } from "@pocket-ai/runtime/testing";
import { Clock, Effect, ManagedRuntime } from "effect";
import { benchFlags } from "./cli-args.js";

const values = benchFlags(
  {
    windows: { type: "string" },
    reservations: { type: "string" },
    smoke: { type: "boolean", default: false },
    "no-limits": { type: "boolean", default: false },
  },
  "bench:rate-window [--windows W,W] [--reservations N] [--smoke] [--no-limits]",
);
const windows = (values.windows ?? (values.smoke ? "10,100" : "100,1000,10000")).split(",").map(Number);
const reservations = Number(values.reservations ?? (values.smoke ? 20 : 300));

/** A clock that reads `now.at` (sleeps are real): entries land where the bench puts them. */
const now = { at: Date.now() };
const realClock = Clock.make();
const benchClock: Clock.Clock = {
  [Clock.ClockTypeId]: Clock.ClockTypeId,
  unsafeCurrentTimeMillis: () => now.at,
  unsafeCurrentTimeNanos: () => BigInt(now.at) * 1_000_000n,
  currentTimeMillis: Effect.sync(() => now.at),
  currentTimeNanos: Effect.sync(() => BigInt(now.at) * 1_000_000n),
  sleep: (d) => realClock.sleep(d),
};
const atBenchTime = <A, E, R>(e: Effect.Effect<A, E, R>) => Effect.withClock(e, benchClock);

/** Rows read from the two window tables so far, by PostgreSQL's statistics (flushed when a connection ends). */
async function rowsRead(location: StoreLocation): Promise<number> {
  const runtime = ManagedRuntime.make(GatewayStore.layer(location));
  try {
    const row = await runtime.runPromise(
      Effect.flatMap(GatewayStore, (db) =>
        Effect.promise(() =>
          db.get<{ n: string | number | null }>(sql`
            select (select coalesce(sum(idx_tup_read), 0) from pg_stat_user_indexes
                    where relname in ('key_reservations', 'key_rate_buckets'))
                 + (select coalesce(sum(seq_tup_read), 0) from pg_stat_user_tables
                    where relname in ('key_reservations', 'key_rate_buckets')) as n`),
        ),
      ),
    );
    return Number(row?.n ?? 0);
  } finally {
    await runtime.dispose();
  }
}

/** Reads the statistics until two reads 300 ms apart agree (ended connections flush theirs). */
async function settledRowsRead(location: StoreLocation): Promise<number> {
  let last = await rowsRead(location);
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 300));
    const next = await rowsRead(location);
    if (next === last) return next;
    last = next;
  }
  return last;
}

interface Row {
  readonly store: string;
  readonly window: number;
  readonly msPerPair: number;
  /** This process's CPU (user + system) per pair: all of it for SQLite, the client's for PostgreSQL. */
  readonly cpuMsPerPair: number;
  readonly rowsPerReservation: number | null;
  readonly windowSeen: number;
}

async function scenario(store: string, location: StoreLocation, window: number): Promise<Row> {
  // A day ahead of the real clock: the gateway's sweep (on the real clock) leaves these entries alone.
  const t0 = Date.now() + 86_400_000;
  const rpm = window + reservations + 10;
  // Fill: `window` settled reservations over [t0 - 50 s, t0).
  const fill = limitsRuntime(location);
  const secret = await fill.runPromise(
    Effect.gen(function* () {
      const accounts = yield* Accounts;
      const app = yield* accounts.createApplication({ name: "bench" });
      const keyLimits = values["no-limits"] ? {} : { rpm, tpm: rpm * 1_000 };
      const { secret } = yield* accounts.createKey(app.id, { name: "bench", ...keyLimits });
      const key = yield* accounts.authenticate(secret);
      const limits = yield* Limits;
      yield* Effect.forEach(
        Array.from({ length: window }, (_, i) => i),
        (i) =>
          Effect.gen(function* () {
            now.at = t0 - 50_000 + Math.floor((i * 50_000) / window);
            const r = yield* atBenchTime(limits.reserve(key, { tokens: 100, costMicroUsd: 0 }));
            yield* atBenchTime(limits.settle(r, { tokens: 80, costMicroUsd: 0 }));
          }),
        { concurrency: 1 },
      );
      return secret;
    }),
  );
  await fill.dispose();
  const before = "url" in location ? await settledRowsRead(location) : 0;
  const timed = limitsRuntime(location);
  const { ms, cpuMs, windowSeen } = await timed.runPromise(
    Effect.gen(function* () {
      const key = yield* (yield* Accounts).authenticate(secret);
      const limits = yield* Limits;
      now.at = t0;
      const windowSeen = (yield* atBenchTime(limits.usage(key.keyId))).window.requests;
      const start = performance.now();
      const cpuStart = process.cpuUsage();
      for (let i = 0; i < reservations; i++) {
        now.at = t0 + i;
        const r = yield* atBenchTime(limits.reserve(key, { tokens: 100, costMicroUsd: 0 }));
        yield* atBenchTime(limits.settle(r, { tokens: 80, costMicroUsd: 0 }));
      }
      const cpu = process.cpuUsage(cpuStart);
      return { ms: performance.now() - start, cpuMs: (cpu.user + cpu.system) / 1_000, windowSeen };
    }),
  );
  await timed.dispose();
  const rowsPerReservation =
    "url" in location ? ((await settledRowsRead(location)) - before) / reservations : null;
  return {
    store,
    window,
    msPerPair: ms / reservations,
    cpuMsPerPair: cpuMs / reservations,
    rowsPerReservation,
    windowSeen,
  };
}

async function main() {
  const rows: Row[] = [];
  const dir = mkdtempSync(join(tmpdir(), "pocket-bench-rate-window-"));
  const server = findPostgresBin() === undefined ? undefined : await startTestPostgres();
  try {
    for (const w of windows) {
      console.error(`[bench:rate-window] SQLite, window of ${w}`);
      rows.push(await scenario("SQLite", { file: join(dir, `w${w}.sqlite`) }, w));
      if (server !== undefined) {
        console.error(`[bench:rate-window] PostgreSQL, window of ${w}`);
        rows.push(
          await scenario("PostgreSQL", { url: await createTestDatabase(server.url), poolSize: 4 }, w),
        );
      }
    }
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    "\n| store | reservations in the window | ms per reserve + settle | vs the smallest window | process CPU ms per pair | rows read per reservation |\n| --- | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const r of rows) {
    const base = rows.find((b) => b.store === r.store)?.msPerPair ?? r.msPerPair;
    console.log(
      `| ${r.store} | ${r.windowSeen} | ${r.msPerPair.toFixed(3)} | ${(r.msPerPair / base).toFixed(2)} | ${r.cpuMsPerPair.toFixed(3)} | ${r.rowsPerReservation === null ? "–" : r.rowsPerReservation.toFixed(1)} |`,
    );
  }
  console.log(
    `\n${reservations} reserve + settle pairs per row, one after the other, through the gateway's Limits; "reservations in the window" is the key's window as usage() reads it before the timed pairs. Rows read: PostgreSQL's own statistics for key_reservations and key_rate_buckets.`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
