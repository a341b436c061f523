import type { SqlClient } from "@pocket-ai/runtime";
import { type Clock, Layer, ManagedRuntime } from "effect";
import { afterAll, beforeAll } from "vitest";
import { GatewayStore } from "../../src/db/database.js";
import { NodeRegistry } from "../../src/registry/node-registry.js";
import type { NodeClients } from "../../src/relay/node-client.js";
import type { GatewayCatalog, GatewayKey } from "../../src/routing/gateway-key-and-catalog.js";
import type { RoutingSettings } from "../../src/routing/routing-config.js";

/**
 * Two registry replicas on one test database (`store`), each built with `settings` and `clock`,
 * started before the suite's tests and disposed, with the store, after them. `db()` is the shared
 * database, `replicas()` the two replicas (read inside tests: they exist once `beforeAll` ran).
 */
export function registryReplicas<E>(
  store: ManagedRuntime.ManagedRuntime<GatewayStore, E>,
  settings: Layer.Layer<GatewayCatalog | GatewayKey | NodeClients | RoutingSettings>,
  clock: Clock.Clock,
) {
  let db: SqlClient;
  let replicas: ManagedRuntime.ManagedRuntime<NodeRegistry, unknown>[] = [];
  beforeAll(async () => {
    db = await store.runPromise(GatewayStore);
    replicas = [0, 1].map(() =>
      ManagedRuntime.make(
        NodeRegistry.layer.pipe(
          Layer.provide(settings),
          Layer.provide(Layer.succeed(GatewayStore, db)),
          Layer.provide(Layer.setClock(clock)),
        ),
      ),
    );
    for (const replica of replicas) await replica.runPromise(NodeRegistry);
  }, 60_000);
  afterAll(async () => {
    for (const replica of replicas) await replica.dispose();
    await store.dispose();
  });
  return { db: () => db, replicas: () => replicas };
}
