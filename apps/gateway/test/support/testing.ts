/**
 * `@pocket-ai/gateway/testing`: the gateway's accounts and limits over a store of the caller's
 * choosing, for tools outside the app (the rate-window micro benchmark in `tooling/bench`).
 */
import { sql } from "drizzle-orm";
import { Layer, ManagedRuntime } from "effect";
import { Accounts } from "../../src/accounts/accounts.js";
import { AccountsConfig } from "../../src/accounts/accounts-config.js";
import { AccountsLive } from "../../src/accounts/index.js";
import { GatewayStore, type StoreLocation } from "../../src/db/database.js";
import { Limits } from "../../src/limits/limits.js";

export { Accounts, GatewayStore, Limits, type StoreLocation, sql };

/** One gateway's accounts and limits (with its sweep) over `location`, with a fixed seed. */
export const limitsRuntime = (location: StoreLocation) =>
  ManagedRuntime.make(
    AccountsLive.pipe(
      Layer.provideMerge(Layer.merge(GatewayStore.layer(location), AccountsConfig.layerTest)),
    ),
  );
