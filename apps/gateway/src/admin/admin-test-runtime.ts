import { Layer, ManagedRuntime, Redacted } from "effect";
import { AccountsTest } from "../accounts/accounts-test-layer.js";
import { AdminAuth } from "./admin-auth.js";

export const ADMIN_TOKEN = "test-admin-token-0123456789";

/** For tests: accounts, limits and admin auth over a temp SQLite file. Dispose it after use. */
export const adminTestRuntime = () =>
  ManagedRuntime.make(Layer.merge(AccountsTest, AdminAuth.layer(Redacted.make(ADMIN_TOKEN))));
