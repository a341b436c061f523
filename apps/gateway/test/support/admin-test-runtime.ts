import { Layer, ManagedRuntime, Redacted, type Runtime } from "effect";
import { AdminAuth } from "../../src/admin/admin-auth.js";
import type { GatewayServices } from "../../src/trpc.js";
import { accountsTest } from "./accounts-test-layer.js";
import type { StoreDialect } from "./temp-database.js";

export const ADMIN_TOKEN = "test-admin-token-0123456789";

/**
 * For tests: accounts, limits and admin auth over a fresh store (a temp SQLite file by default).
 * Dispose it after use.
 * `runtime()` is widened to the tRPC context's type: the procedures these tests call use only
 * accounts, limits and admin auth, and one that needed another service would fail the test.
 */
export const adminTestRuntime = (dialect: StoreDialect = "sqlite") => {
  const managed = ManagedRuntime.make(
    Layer.merge(accountsTest(dialect), AdminAuth.layer(Redacted.make(ADMIN_TOKEN))),
  );
  return {
    runtime: async () => (await managed.runtime()) as unknown as Runtime.Runtime<GatewayServices>,
    runPromise: managed.runPromise,
    dispose: () => managed.dispose(),
  };
};
