import { sql } from "drizzle-orm";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { dialectMissing, STORE_DIALECTS, tempStore } from "../../test/support/temp-database.js";
import { GatewayStore } from "../db/database.js";
import { insertRelayRow } from "../db/relay-rows.js";
import type { MeteringRow } from "./metering-writer.js";
import { usageReport } from "./usage-report.js";

const DAY = 86_400_000;
const at = 20_000 * DAY;

const row = (i: number, sold?: { serviceId: string; tier: string }): MeteringRow => ({
  requestHash: `hash-${i}`,
  applicationId: "app_1",
  keyId: "key_1",
  serviceId: "llama-2-13b",
  tier: "batch",
  ...(sold === undefined ? {} : { soldServiceId: sold.serviceId, soldTier: sold.tier }),
  operation: "chat.completions",
  sessionId: "s",
  sessionNumber: 1,
  outcome: "ok",
  inputTokens: 3,
  outputTokens: 4,
  priceMicroUsd: 500,
  createdAt: at + i,
});

describe.each(STORE_DIALECTS)("a customer's usage on %s", (dialect) => {
  const TempDatabase = tempStore(dialect);
  describe.skipIf(dialectMissing(dialect))(dialect, () => {
    it("names the service sold, and reads a row without one (older rows, older replicas) as the served", async () => {
      const report = await Effect.runPromise(
        Effect.gen(function* () {
          const db = yield* GatewayStore;
          return yield* Effect.promise(async () => {
            await insertRelayRow(db, row(1, { serviceId: "quality-gpt-3.5", tier: "batch" }));
            await insertRelayRow(db, row(2, { serviceId: "quality-gpt-3.5", tier: "batch" }));
            await insertRelayRow(db, row(3, { serviceId: "llama-2-13b", tier: "batch" }));
            // A row as a replica of the release before writes it: no sold columns, their default.
            await db.run(sql`insert into relays (request_hash, application_id, key_id, service_id, tier,
              operation, session_id, session_number, outcome, created_at)
              values ('hash-4', 'app_1', 'key_1', 'llama-2-13b', 'batch', 'chat.completions', 's', 1, 'ok', ${at + 4})`);
            return usageReport(db, { keyId: "key_1", from: at, to: at + DAY }, at + DAY);
          });
        }).pipe(Effect.provide(TempDatabase)),
      );
      expect(report.map((r) => [r.serviceId, r.requests])).toEqual([
        ["llama-2-13b", 2],
        ["quality-gpt-3.5", 2],
      ]);
    });
  });
});
