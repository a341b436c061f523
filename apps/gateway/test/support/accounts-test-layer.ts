import { Layer } from "effect";
import { AccountsConfig } from "../../src/accounts/accounts-config.js";
import { AccountsLive } from "../../src/accounts/index.js";
import { type StoreDialect, tempStore } from "./temp-database.js";

/** For tests: accounts and limits over a fresh store of the dialect, with a fixed seed. */
export const accountsTest = (dialect: StoreDialect) =>
  AccountsLive.pipe(Layer.provideMerge(Layer.merge(tempStore(dialect), AccountsConfig.layerTest)));

/** For tests: accounts and limits over a fresh SQLite file in a temp folder, with a fixed seed. */
export const AccountsTest = accountsTest("sqlite");
