import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair } from "@pocket-ai/protocol";
import { createLogger } from "@pocket-ai/runtime";
import { Effect, Exit, ManagedRuntime, Scope } from "effect";
import { describe, expect, it } from "vitest";
import { startGateway } from "../src/app/gateway-app.js";
import { GatewayConfig } from "../src/config/gateway-config.js";
import { GatewayStore, type StoreLocation } from "../src/db/database.js";
import { adminClient, LIVE_ADMIN_TOKEN } from "./support/live-network.js";
import { settableClock } from "./support/settable-clock.js";
import {
  claimTime,
  HOUR,
  ledgerRelays,
  nodeClaim,
  nodeProof,
  registerNode,
  sessionAt,
  W48_TUESDAY,
  writeLedger,
} from "./support/settlement-fixtures.js";
import { TEST_GATEWAY, TEST_SESSION_PARAMS } from "./support/settlement-test-layer.js";
import { dialectMissing, freshLocation, STORE_DIALECTS } from "./support/temp-database.js";

/**
 * A gateway that is down longer than a claim's proof window: the node that claimed before the
 * outage proves the claim after the restart and is paid for the relays it served. The gateway is
 * a real one (`startGateway`, its HTTP API) on a clock the test moves while it is stopped.
 */

/** A real gateway on `location`, signing as the settlement fixtures' gateway, on `clock`. */
async function openGateway(
  dataDir: string,
  location: StoreLocation,
  clock: ReturnType<typeof settableClock>,
) {
  const scope = Effect.runSync(Scope.make());
  const gateway = await Effect.runPromise(
    startGateway(
      GatewayConfig.parse({
        listen: { host: "127.0.0.1", port: 0 },
        dataDir,
        privateKey: Buffer.from(TEST_GATEWAY.privateKey).toString("hex"),
        adminToken: LIVE_ADMIN_TOKEN,
        // The nodes listen on loopback.
        routing: { session: TEST_SESSION_PARAMS, healthCheckMs: 600_000, allowPrivateEndpoints: true },
        ...("url" in location ? { database: { url: location.url } } : {}),
      }),
      { log: createLogger({ app: "outage-gateway", level: "error" }) },
    ).pipe(Effect.withClock(clock.clock), Scope.extend(scope)),
  );
  return {
    admin: adminClient(gateway.trpcUrl),
    stop: () => Effect.runPromise(Scope.close(scope, Exit.void)),
  };
}

describe.each(STORE_DIALECTS)("a claim open when the gateway went down, on %s", (dialect) => {
  it.skipIf(dialectMissing(dialect))(
    "is proven and paid after a restart past its proof window",
    async () => {
      const scope = Effect.runSync(Scope.make());
      const { location, dir } = await Effect.runPromise(Scope.extend(freshLocation(dialect), scope));
      // A SQLite gateway keeps its database in its data folder: the location's own.
      const dataDir = dir ?? mkdtempSync(join(tmpdir(), "pocket-outage-"));
      try {
        // The node's relays of a Tuesday session of 2026-W48, in the gateway's ledger.
        const node = generateKeyPair();
        const header = sessionAt(W48_TUESDAY);
        const relays = ledgerRelays(header, 10);
        const store = ManagedRuntime.make(GatewayStore.layer(location));
        await store.runPromise(
          Effect.zipRight(registerNode(node), writeLedger(header, node.address, relays)),
        );
        await store.dispose();

        const clock = settableClock(claimTime(header));
        const first = await openGateway(dataDir, location, clock);
        await first.admin.admin.settlement.rates.set.mutate({
          weekId: "2026-W48",
          rateMicroUsdPerPokt: 250_000,
        });
        const { tree, submission } = nodeClaim(node, header, relays);
        const ack = await first.admin.settlement.submitClaim.mutate(JSON.parse(JSON.stringify(submission)));
        expect(ack.status).toBe("accepted");
        const claimedAt = clock.time.at;
        await first.stop();

        // Down for three hours: the claim's hour-long proof window passed meanwhile.
        clock.time.at = claimedAt + 3 * HOUR + 1_000;
        const second = await openGateway(dataDir, location, clock);
        try {
          const proof = JSON.parse(JSON.stringify(nodeProof(node, header, tree, ack.leafIndex)));
          expect(await second.admin.settlement.submitProof.mutate(proof)).toMatchObject({
            status: "proven",
            mintedUpokt: "30000",
          });
          // Its window was extended by the outage: as long left as when the gateway stopped.
          const [claim] = await second.admin.admin.settlement.claims.list.query({ weekId: "2026-W48" });
          expect(claim).toMatchObject({ status: "proven", proofDeadline: clock.time.at + HOUR });
          const tally = await second.admin.admin.settlement.tally.week.query({ weekId: "2026-W48" });
          expect(tally.totals).toMatchObject({ claims: 1, relaysProven: 10, mintedUpokt: "30000" });
        } finally {
          await second.stop();
        }
      } finally {
        await Effect.runPromise(Scope.close(scope, Exit.void));
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
