import { Layer, ManagedRuntime, Redacted, type Runtime } from "effect";
import { AdminAuth } from "../../src/admin/admin-auth.js";
import type { GatewayServices } from "../../src/trpc.js";
import { AccountsTest } from "./accounts-test-layer.js";

export const ADMIN_TOKEN = "test-admin-token-0123456789";

/**
 * For tests: accounts, limits and admin auth over a temp SQLite file. Dispose it after use.
 * `runtime()` is widened to the tRPC context's type: the procedures these tests call use only
 * accounts, limits and admin auth, and one that needed another service would fail the test.
 */
export const adminTestRuntime = () => {
  const managed = ManagedRuntime.make(Layer.merge(AccountsTest, AdminAuth.layer(Redacted.make(ADMIN_TOKEN))));
  return {
    runtime: async () => (await managed.runtime()) as unknown as Runtime.Runtime<GatewayServices>,
    runPromise: managed.runPromise,
    dispose: () => managed.dispose(),
  };
};
