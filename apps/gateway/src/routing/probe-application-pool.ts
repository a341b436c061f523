import { Chunk, Clock, Effect, Fiber, Queue } from "effect";
import { GatewayStore, storeRunner } from "../db/database.js";
import { loadProbeApplications, saveProbePoolChanges } from "../db/probe-application-rows.js";
import {
  DEFAULT_PROBE_APPLICATIONS,
  type ProbeApplicationOptions,
  ProbeApplications,
  type ProbePoolChange,
} from "./probe-applications.js";

/**
 * The probe applications as the gateway's database kept them (a restarted gateway goes on with the
 * same ones: a pool made anew at each start would show every node a burst of new applications,
 * all probes), every change saved in the background, in order, and the last ones when the gateway
 * stops. A database that cannot be read or written costs the pool its memory across restarts,
 * never a relay. `sync` saves the changes not saved yet (after the save under way, if any).
 */
export const probeApplicationPool = Effect.fnUntraced(function* (
  draw: () => number,
  options: ProbeApplicationOptions = DEFAULT_PROBE_APPLICATIONS,
) {
  const use = storeRunner(yield* GatewayStore);
  const now = yield* Clock.currentTimeMillis;
  const kept = yield* use("probeApplications.load", (db) =>
    loadProbeApplications(db, now, options.poolSize),
  ).pipe(
    Effect.tapError((e) => Effect.logWarning("reading the probe applications failed; a new pool starts", e)),
    Effect.orElseSucceed(() => []),
  );
  const changes = yield* Queue.unbounded<ProbePoolChange>();
  const save = (batch: Chunk.Chunk<ProbePoolChange>) =>
    Chunk.isEmpty(batch)
      ? Effect.void
      : Clock.currentTimeMillis
          .pipe(
            // Applications retired by the time of the save go too, whenever they were pooled.
            Effect.flatMap((at) =>
              use("probeApplications.save", (db) =>
                saveProbePoolChanges(db, Chunk.toReadonlyArray(batch), at),
              ),
            ),
          )
          .pipe(
            Effect.tapError((e) => Effect.logWarning("saving the probe applications failed", e)),
            Effect.ignore,
            Effect.uninterruptible,
          );
  // One save at a time: `sync` waits for the one under way.
  const oneAtATime = yield* Effect.makeSemaphore(1);
  const writer = yield* Effect.forkDaemon(
    Effect.forever(
      Effect.flatMap(Queue.take(changes), (first) =>
        oneAtATime.withPermits(1)(
          Effect.flatMap(Queue.takeAll(changes), (rest) => save(Chunk.prepend(rest, first))),
        ),
      ),
    ),
  );
  const sync = oneAtATime.withPermits(1)(Effect.flatMap(Queue.takeAll(changes), save));
  yield* Effect.addFinalizer(() => Effect.zipRight(Fiber.interrupt(writer), sync));
  const apps = new ProbeApplications(options, draw, undefined, kept, (change) => {
    Queue.unsafeOffer(changes, change);
  });
  return { apps, sync };
});
