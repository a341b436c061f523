import type { KeyPair } from "@pocket-ai/protocol";
import type { SqlClient } from "@pocket-ai/runtime";
import { sql } from "drizzle-orm";
import { Effect } from "effect";
import { applicationKeyPair } from "../accounts/application-address.js";
import { type StorageError, storeRunner } from "../db/database.js";

/**
 * Why this gateway's signing key is not the one its database was made with (an `INVALID_CONFIG`
 * start failure), or `undefined`.
 *
 * Each application's address is derived from the gateway's key, so the oldest application tells
 * which key made the database. A replica started without the shared `privateKey`, or a gateway
 * whose key file was lost or mistyped (a new key is then created), would otherwise start, answer
 * `/ready`, and have every relay refused by nodes that serve only the first key's address
 * (`UNKNOWN_GATEWAY`). An empty database proves nothing.
 */
export function signingKeyMismatch(
  db: SqlClient,
  key: KeyPair,
): Effect.Effect<string | undefined, StorageError> {
  return Effect.gen(function* () {
    const rows = yield* storeRunner(db)("applications.oldest", (tx) =>
      tx.all<{ id: string; address: string }>(
        sql`select id, address from applications order by created_at, id limit 1`,
      ),
    );
    const oldest = rows[0];
    if (oldest === undefined) return undefined;
    if (applicationKeyPair(key.privateKey, oldest.id).address === oldest.address) return undefined;
    return (
      `this gateway's signing key (address ${key.address}) is not the key its database was made with ` +
      `(application ${oldest.id} has an address another key derived). Start it with that key: the backed-up ` +
      "gateway.key of the first start, set as privateKeyFile or POCKET_GATEWAY__PRIVATE_KEY; replicas on one " +
      "PostgreSQL database all need the same privateKey"
    );
  });
}
