import { DEFAULT_CATALOG, generateKeyPair, type KeyPair, RegistrationAck } from "@pocket-ai/protocol";
import type { SqlClient } from "@pocket-ai/runtime";
import { sql } from "drizzle-orm";
import { Context, Effect, Layer, ManagedRuntime } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { textNodeAnnouncement } from "../../test/support/registry-fixtures.js";
import { settableClock } from "../../test/support/settable-clock.js";
import { dialectMissing, STORE_DIALECTS, tempStore } from "../../test/support/temp-database.js";
import { until } from "../../test/support/until.js";
import { GatewayStore } from "../db/database.js";
import { NodeClients } from "../relay/node-client.js";
import { GatewayCatalog, GatewayKey } from "../routing/gateway-key-and-catalog.js";
import { DEFAULT_FORGET_NODES_AFTER_MS, RoutingSettings } from "../routing/routing-config.js";
import { NodeRegistry } from "./node-registry.js";

// Nothing listens on these ports: the registry never calls a node while its endpoint is its own.
const endpoint = (port: number) => `http://127.0.0.1:${port}/trpc`;

describe.each(STORE_DIALECTS)("the node registry on %s", (dialect) => {
  describe.skipIf(dialectMissing(dialect))(dialect, () => {
    // The gateway's clock, set by the test: a node goes quiet for hours without the test waiting.
    const { clock, time } = settableClock();
    // One database, shared by the registries built on it (replicas, or one gateway restarted).
    const store = ManagedRuntime.make(tempStore(dialect));
    const settings = Layer.mergeAll(
      GatewayCatalog.layer(DEFAULT_CATALOG),
      GatewayKey.layer(generateKeyPair()),
    ).pipe(
      Layer.provideMerge(NodeClients.layer),
      // Reloads every second: the running registry's reload is awaited, not triggered. The nodes'
      // endpoints are on loopback.
      Layer.provideMerge(RoutingSettings.layer({ announceEveryMs: 1_000, allowPrivateEndpoints: true })),
    );
    let db: SqlClient;
    let running: ManagedRuntime.ManagedRuntime<NodeRegistry, unknown>;
    const registryLayer = () =>
      NodeRegistry.layer.pipe(
        Layer.provide(settings),
        Layer.provide(Layer.succeed(GatewayStore, db)),
        Layer.provide(Layer.setClock(clock)),
      );
    beforeAll(async () => {
      db = await store.runPromise(GatewayStore);
      running = ManagedRuntime.make(registryLayer());
      await running.runPromise(NodeRegistry);
    }, 60_000);
    afterAll(async () => {
      await running.dispose();
      await store.dispose();
    });

    const registry = () => running.runPromise(NodeRegistry);
    /** What a registry built now on the same database loads (another replica, or a restart). */
    const loadedAfresh = () =>
      Effect.runPromise(
        Effect.scoped(
          Effect.map(Layer.build(registryLayer()), (ctx) => Context.get(ctx, NodeRegistry).list()),
        ),
      );
    const announce = async (key: KeyPair, port: number) =>
      RegistrationAck.parse(
        await running.runPromise(
          Effect.flatMap(NodeRegistry, (r) =>
            r.announce(textNodeAnnouncement(key, endpoint(port), time.at), { network: "test" }),
          ),
        ),
      );
    const addresses = (nodes: readonly { address: string }[]) => nodes.map((n) => n.address).sort();

    const quiet = generateKeyPair();
    const steady = generateKeyPair();
    let quietRegisteredAt = 0;

    it("stops loading a node that has not announced for forgetNodesAfterMs, and drops what it held of it", async () => {
      quietRegisteredAt = time.at;
      expect((await announce(quiet, 9)).accepted).toBe(true);
      expect((await announce(steady, 10)).accepted).toBe(true);
      (await registry()).recordProbe(quiet.address, false, time.at, undefined);
      expect((await registry()).health(quiet.address).failures).toBe(1);

      time.at += DEFAULT_FORGET_NODES_AFTER_MS + 1_000;
      const ack = await announce(steady, 10);
      expect(ack.accepted).toBe(true);
      expect(ack.registry["llama-2-13b"]?.map((c) => c.address)).toEqual([steady.address]);
      // The running registry's next reload leaves the quiet node out, its health with it.
      await until(
        async () => (await registry()).get(quiet.address) === undefined,
        "the quiet node forgotten",
      );
      expect(addresses((await registry()).list())).toEqual([steady.address]);
      expect((await registry()).health(quiet.address)).toMatchObject({ failures: 0, checkedAt: undefined });
      // A registry loading now reads only the nodes announced within the window.
      expect(addresses(await loadedAfresh())).toEqual([steady.address]);
      // The row is kept: its claims are still looked up.
      const row = await db.get<{ status: string }>(
        sql`select status from nodes where address = ${quiet.address}`,
      );
      expect(row?.status).toBe("active");
    });

    it("lists forgotten nodes from the table, newest first, a page at a time", async () => {
      const older = [generateKeyPair(), generateKeyPair()];
      const at = time.at;
      time.at = at - DEFAULT_FORGET_NODES_AFTER_MS - 60_000;
      for (const [i, key] of older.entries()) expect((await announce(key, 20 + i)).accepted).toBe(true);
      time.at = at;
      const forgotten = (...page: Parameters<NodeRegistry["Type"]["forgotten"]>) =>
        running.runPromise(Effect.flatMap(NodeRegistry, (r) => r.forgotten(...page)));
      const all = await forgotten(100);
      // The quiet node first (announced last); the two before it, announced at one time, by address.
      expect(all.map((n) => n.address)).toEqual([
        quiet.address,
        ...older.map((k) => k.address).sort((a, b) => (a < b ? 1 : -1)),
      ]);
      expect(all[0]).toMatchObject({
        endpoint: endpoint(9),
        registeredAt: quietRegisteredAt,
        lastAnnouncedAt: quietRegisteredAt,
        status: "active",
      });
      const first = await forgotten(1);
      const last = first[0]!;
      const next = await forgotten(2, { lastAnnouncedAt: last.lastAnnouncedAt, address: last.address });
      expect([...first, ...next]).toEqual(all);
    });

    it("accepts a forgotten node that announces again, at a new endpoint, as registered when it first was", async () => {
      time.at += 500;
      const ack = await announce(quiet, 11);
      expect(ack.accepted).toBe(true);
      expect(ack.registry["llama-2-13b"]?.map((c) => c.address).sort()).toEqual(
        [quiet.address, steady.address].sort(),
      );
      const back = (await registry()).get(quiet.address);
      expect(back).toMatchObject({ endpoint: endpoint(11), registeredAt: quietRegisteredAt });
      const elsewhere = (await loadedAfresh()).find((n) => n.address === quiet.address);
      expect(elsewhere).toMatchObject({ endpoint: endpoint(11), registeredAt: quietRegisteredAt });
      const forgotten = await running.runPromise(Effect.flatMap(NodeRegistry, (r) => r.forgotten(100)));
      expect(forgotten.map((n) => n.address)).not.toContain(quiet.address);
    });

    it("finds the nodes to load by an index on the last announcement, not by reading the table", async () => {
      const indexed =
        dialect === "sqlite"
          ? await db.all<{ detail: string }>(
              sql`explain query plan select address from nodes where last_announced_at >= ${time.at} and status = 'active'`,
            )
          : await db.all<{ detail: string }>(
              sql`select indexdef as detail from pg_indexes where tablename = 'nodes' and indexname = 'nodes_last_announced'`,
            );
      expect(indexed.map((r) => r.detail).join("\n")).toMatch(
        dialect === "sqlite" ? /USING INDEX nodes_last_announced/ : /\(last_announced_at\)/,
      );
    });
  });
});
