import { Layer } from "effect";
import { AccountsConfig } from "../../src/accounts/accounts-config.js";
import { AccountsLive } from "../../src/accounts/index.js";
import { TempDatabase } from "./temp-database.js";

/** For tests: accounts and limits over a fresh SQLite file in a temp folder, with a fixed seed. */
export const AccountsTest = AccountsLive.pipe(
  Layer.provideMerge(Layer.merge(TempDatabase, AccountsConfig.layerTest)),
);
