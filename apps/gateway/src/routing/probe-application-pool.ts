import { Clock, Effect, Fiber, Queue } from "effect";
import { GatewayStore, storeRunner } from "../db/database.js";
import { syncProbeApplications } from "../db/probe-application-rows.js";
import {
  DEFAULT_PROBE_APPLICATIONS,
  type ProbeApplicationOptions,
  ProbeApplications,
} from "./probe-applications.js";
import { probePoolSyncEvery } from "./schedules.js";

/**
 * The probe applications: the pool in the gateway's database (`probe_applications`), which every
 * replica on it uses. A restarted gateway goes on with the same applications (a pool made anew at
 * each start would show every node a burst of new applications, all probes), and replicas send
 * probes under the same ones (a pool per replica would split probes over applications unlike
 * customers, and a replica's restart would end some of them). Each process keeps a copy for the
 * relays' path and syncs it (`sync`): at start, right after it mints or retires an application,
 * every `probePoolSyncEvery`, and when it stops. A database that cannot be read at start leaves
 * the process a pool of its own until it can; a failed sync costs freshness, never a relay.
 */
export const probeApplicationPool = Effect.fnUntraced(function* (
  draw: () => number,
  options: ProbeApplicationOptions = DEFAULT_PROBE_APPLICATIONS,
) {
  const use = storeRunner(yield* GatewayStore);
  const wake = yield* Queue.sliding<void>(1);
  const apps = new ProbeApplications(options, draw, undefined, {
    changed: () => Queue.unsafeOffer(wake, undefined),
  });
  const oneAtATime = yield* Effect.makeSemaphore(1);
  const trySync = oneAtATime.withPermits(1)(
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis;
      const minted = apps.takeMinted();
      const table = yield* use("probeApplications.sync", (db) =>
        syncProbeApplications(db, {
          minted,
          now,
          poolSize: options.poolSize,
          fresh: (at) => apps.fresh(at),
        }),
      ).pipe(Effect.tapError(() => Effect.sync(() => apps.restore(minted))));
      apps.adopt(table);
    }).pipe(Effect.uninterruptible),
  );
  yield* trySync.pipe(
    Effect.tapError((e) =>
      Effect.logWarning("reading the probe applications failed; a pool of this process's own starts", e),
    ),
    Effect.ignore,
  );
  const sync = trySync.pipe(
    Effect.tapError((e) => Effect.logWarning("syncing the probe applications failed", e)),
    Effect.ignore,
  );
  const syncer = yield* Effect.forkDaemon(
    Effect.forever(Effect.zipRight(Effect.timeoutOption(Queue.take(wake), probePoolSyncEvery), sync)),
  );
  yield* Effect.addFinalizer(() => Effect.zipRight(Fiber.interrupt(syncer), sync));
  return { apps, sync };
});
