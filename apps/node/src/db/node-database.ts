import { join } from "node:path";
import { openSqlite, packageFile, withDatabaseRemedy } from "@pocket-ai/runtime";
import { Context, Effect, Layer, Option } from "effect";
import { NodeSettings, NodeStartError } from "../app/node-settings.js";
import { WorkerLink } from "../app/worker-link.js";
import { NodeClock } from "../clock/node-clock.js";
import { Metrics } from "../metrics/node-metrics.js";
import { ClaimStore } from "./claim-store.js";
import type { NodeStoreError } from "./node-store-error.js";
import { type NodeDb, RelayStore } from "./relay-store.js";
import { nodeSchema } from "./schema.js";

const migrationsFolder = packageFile(import.meta.url, "@pocket-ai/node", "drizzle");

/** The node's SQLite database (`<dataDir>/node.sqlite`), migrated on open, checkpointed on close. */
export class NodeDatabase extends Context.Tag("node/NodeDatabase")<NodeDatabase, NodeDb>() {
  static readonly layer = Layer.scoped(
    NodeDatabase,
    Effect.gen(function* () {
      const { config } = yield* NodeSettings;
      const { db } = yield* openSqlite({
        file: join(config.dataDir, "node.sqlite"),
        schema: nodeSchema,
        migrationsFolder,
      }).pipe(Effect.mapError((e) => NodeStartError.of(e, "DATABASE_UNAVAILABLE")));
      return db;
    }),
  );
}

/**
 * The relay ledger. Relays a previous run left `pending` were never answered: they are marked
 * failed when the ledger opens, so they are never claimed. Streams it left open (killed mid-way)
 * are marked cut, for their gateways' cut receipts to settle.
 */
export class RelayLedger extends Context.Tag("node/RelayLedger")<RelayLedger, RelayStore>() {
  static readonly layer = Layer.effect(
    RelayLedger,
    Effect.gen(function* () {
      // A worker of several admits each request hash through its primary (app/node-cluster.ts).
      const link = yield* Effect.serviceOption(WorkerLink);
      const metrics = yield* Metrics;
      const store = new RelayStore(yield* NodeDatabase, Option.getOrUndefined(link), (rows) =>
        metrics.ledgerWriteFailures.inc({}, rows),
      );
      const { log } = yield* NodeSettings;
      const clock = yield* NodeClock;
      const atStart = (e: NodeStoreError) =>
        new NodeStartError({
          code: "DATABASE_UNAVAILABLE",
          reason: `${e.operation}: ${withDatabaseRemedy(e.reason)}`,
        });
      const abandoned = yield* store.abandonPending(clock.now()).pipe(Effect.mapError(atStart));
      if (abandoned > 0)
        log.warn("relays left unanswered by the last run were marked failed", { count: abandoned });
      // A worker starts while its siblings may serve streams: only a lone node or the primary,
      // before any worker runs, closes the streams the last run left open.
      if (Option.isNone(link)) {
        const cut = yield* store.closeOpenStreams(clock.now()).pipe(Effect.mapError(atStart));
        if (cut > 0)
          log.warn(
            "streams the last run was serving when it stopped are recorded cut: their gateways' cut receipts pay what their clients received",
            { count: cut },
          );
      }
      return store;
    }),
  );
}

/** The claim ledger: one row per (session, gateway), the claim's state machine. */
export class ClaimLedger extends Context.Tag("node/ClaimLedger")<ClaimLedger, ClaimStore>() {
  static readonly layer = Layer.effect(
    ClaimLedger,
    Effect.map(NodeDatabase, (db) => new ClaimStore(db)),
  );
}
