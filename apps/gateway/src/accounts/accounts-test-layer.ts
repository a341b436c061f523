import { Layer } from "effect";
import { TempDatabase } from "../db/temp-database.js";
import { AccountsConfig } from "./accounts-config.js";
import { AccountsLive } from "./index.js";

/** For tests: accounts and limits over a fresh SQLite file in a temp folder, with a fixed seed. */
export const AccountsTest = AccountsLive.pipe(
  Layer.provideMerge(Layer.merge(TempDatabase, AccountsConfig.layerTest)),
);
