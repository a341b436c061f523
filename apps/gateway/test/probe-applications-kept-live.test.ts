import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase } from "@pocket-ai/runtime/testing";
import Database from "better-sqlite3";
import { sql } from "drizzle-orm";
import { Effect, ManagedRuntime } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { GatewayStore, type StoreLocation } from "../src/db/database.js";
import { adminClient, liveSession, startDevNode, waitForNodes } from "./support/live-network.js";
import { openGateway } from "./support/open-gateway.js";
import {
  dialectMissing,
  postgresServerUrl,
  STORE_DIALECTS,
  type StoreDialect,
} from "./support/temp-database.js";

/**
 * A node can remember when it first served each application. Probe applications live for weeks
 * so that their age does not give them away; a gateway that made its pool anew at every start
 * would show its nodes, at each restart, a whole pool of applications never seen before, every one
 * of them a probe. A restarted gateway must go on sending probes under the applications it used
 * before.
 */

describe.each(STORE_DIALECTS)(
  "probe applications across a gateway restart, on %s",
  (dialect: StoreDialect) => {
    describe.skipIf(dialectMissing(dialect))(dialect, () => {
      const cleanup: (() => Promise<void> | void)[] = [];
      afterEach(async () => {
        for (const f of cleanup.reverse()) await f();
        cleanup.length = 0;
      });

      it("a restarted gateway sends probes under the applications it used before", async () => {
        const dir = mkdtempSync(join(tmpdir(), "pocket-probe-apps-"));
        cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
        const location: StoreLocation =
          dialect === "sqlite"
            ? { file: join(dir, "gateway", "gateway.sqlite") }
            : { url: await createTestDatabase(postgresServerUrl() as string) };
        const session = liveSession();
        let gateway = await openGateway(join(dir, "gateway"), location, session);
        cleanup.push(() => gateway.stop());
        const node = await startDevNode(
          { trpcUrl: gateway.gateway.trpcUrl, address: gateway.gateway.key.address },
          session,
          join(dir, "node"),
        );
        cleanup.push(() => node.stop());
        const nodeAddress = node.node.key.address;
        await waitForNodes(adminClient(gateway.gateway.trpcUrl), [nodeAddress]);
        const admin = adminClient(gateway.gateway.trpcUrl);
        const app = await admin.admin.applications.create.mutate({ name: "evaluator" });
        const key = await admin.admin.keys.create.mutate({ applicationId: app.id, name: "evaluator key" });
        await admin.admin.keyRoles.set.mutate({ keyId: key.key.id, role: "evaluator" });

        /** Relays pinned to the node, as the evaluator sends its probes. */
        const probe = async (url: string, count: number) => {
          for (let i = 0; i < count; i++) {
            const response = await fetch(`${url}/v1/chat/completions`, {
              method: "POST",
              headers: {
                authorization: `Bearer ${key.secret}`,
                "content-type": "application/json",
                "x-pocket-target-node": nodeAddress,
              },
              body: JSON.stringify({
                model: "llama-2-13b",
                messages: [{ role: "user", content: `What is the capital of France? (${i})` }],
                max_tokens: 5,
              }),
            });
            expect(response.status).toBe(200);
          }
        };
        /** The applications of the relays in the node's ledger (it keeps them, as any node can). */
        const served = () => {
          const ledger = new Database(join(dir, "node", "node.sqlite"), { readonly: true });
          try {
            const rows = ledger.prepare("select distinct application_address as a from relays").all() as {
              a: string;
            }[];
            return new Set(rows.map((r) => r.a));
          } finally {
            ledger.close();
          }
        };

        await probe(gateway.gateway.url, 40);
        const before = served();
        await gateway.stop();
        const saved = ManagedRuntime.make(GatewayStore.layer(location));
        const pool = await saved.runPromise(
          Effect.flatMap(GatewayStore, (db) =>
            Effect.promise(() => db.all<{ address: string }>(sql`select address from probe_applications`)),
          ),
        );
        await saved.dispose();
        // Every application a probe went out under is in the pool the gateway kept.
        expect(pool.length).toBe(64);
        for (const a of before) expect(pool.map((p) => p.address)).toContain(a);

        gateway = await openGateway(join(dir, "gateway"), location, session);
        await waitForNodes(adminClient(gateway.gateway.trpcUrl), [nodeAddress]);
        await probe(gateway.gateway.url, 40);
        const after = [...served()].filter((a) => !before.has(a));
        // The restarted gateway's probes went out under the kept pool: the node saw no application
        // it could not have seen before the restart.
        for (const a of after) expect(pool.map((p) => p.address)).toContain(a);
      }, 120_000);
    });
  },
);
