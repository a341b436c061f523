import { generateKeyPair, type KeyPair, type SessionParams } from "@pocket-ai/protocol";
import { Layer } from "effect";
import { SettlementLive } from "../../src/settlement/settlement.js";
import { SettlementConfig, SettlementIdentity } from "../../src/settlement/settlement-config.js";
import { type StoreDialect, tempStore } from "./temp-database.js";

/** For tests: hourly sessions from the Unix epoch with a minute of grace. */
export const TEST_SESSION_PARAMS: Extract<SessionParams, { mode: "time" }> = {
  mode: "time",
  genesisMs: 0,
  sessionLengthMs: 3_600_000,
  graceMs: 60_000,
};

/** For tests: a fresh gateway key each run, operator "portal-xyz". */
export const TEST_GATEWAY: KeyPair = generateKeyPair();
export const TEST_OPERATOR = "portal-xyz";

/** For tests: settlement over a `Database` the caller provides (share one with other services). */
export const SettlementTestServices = SettlementLive.pipe(
  Layer.provideMerge(
    Layer.merge(
      SettlementIdentity.layer({
        address: TEST_GATEWAY.address,
        key: TEST_GATEWAY,
        operator: TEST_OPERATOR,
        session: TEST_SESSION_PARAMS,
      }),
      SettlementConfig.layer(),
    ),
  ),
);

/** For tests: settlement over a fresh store of the dialect. */
export const settlementTest = (dialect: StoreDialect) =>
  SettlementTestServices.pipe(Layer.provideMerge(tempStore(dialect)));

/** For tests: settlement over a fresh SQLite file in a temp folder. */
export const SettlementTest = settlementTest("sqlite");
