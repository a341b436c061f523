import { and, eq, sql } from "drizzle-orm";
import { Clock, Context, Effect, Layer, Redacted } from "effect";
import { Database, statementRunner } from "../db/database.js";
import { apiKeys, applications } from "../db/schema.js";
import { AccountsConfig } from "./accounts-config.js";
import {
  bearerToken,
  generateApiKey,
  hashApiKey,
  isWellFormedApiKey,
  randomBase62,
  sameHash,
  visiblePrefix,
} from "./api-key-format.js";
import { applicationKeyPair } from "./application-address.js";
import { ApiKeyNotFound, ApplicationDisabled, ApplicationNotFound, InvalidApiKey } from "./errors.js";
import { KeyCache } from "./key-cache.js";
import { findKeyByHash } from "./key-lookup.js";
import { type AuthenticatedKey, type KeyLimits, toApiKey, toApplication } from "./records.js";

/** A key's limits when it is created; omitted or `null` means unlimited. */
export type NewKey = { readonly name: string } & {
  readonly [K in keyof KeyLimits]?: KeyLimits[K] | undefined;
};

/** A change to a key: omitted (or `undefined`) fields stay as they are, `null` lifts a limit. */
export type KeyPatch = { readonly name?: string | undefined } & {
  readonly [K in keyof KeyLimits]?: KeyLimits[K] | undefined;
};

const make = Effect.gen(function* () {
  const database = yield* Database;
  const config = yield* AccountsConfig;
  const cache = new KeyCache(config.keyCacheMaxEntries, config.keyCacheTtlMs);
  const use = statementRunner(database.db);

  const getApplication = Effect.fn("Accounts.getApplication")(function* (applicationId: string) {
    const row = yield* use("applications.get", (db) =>
      db.select().from(applications).where(eq(applications.id, applicationId)).get(),
    );
    if (row === undefined) return yield* new ApplicationNotFound({ applicationId });
    return toApplication(row);
  });

  const getKey = Effect.fn("Accounts.getKey")(function* (keyId: string) {
    const row = yield* use("apiKeys.get", (db) =>
      db.select().from(apiKeys).where(eq(apiKeys.id, keyId)).get(),
    );
    if (row === undefined) return yield* new ApiKeyNotFound({ keyId });
    return toApiKey(row);
  });

  return {
    createApplication: Effect.fn("Accounts.createApplication")(function* (input: {
      readonly name: string;
      readonly operator?: string | undefined;
    }) {
      const id = `app_${randomBase62(16)}`;
      const { address } = applicationKeyPair(Redacted.value(config.applicationSeed), id);
      const createdAt = yield* Clock.currentTimeMillis;
      const row = { id, address, name: input.name, operator: input.operator ?? null, createdAt };
      yield* use("applications.insert", (db) =>
        db
          .insert(applications)
          .values({ ...row, status: "active" })
          .run(),
      );
      return yield* getApplication(id);
    }),

    listApplications: Effect.fn("Accounts.listApplications")(function* () {
      const rows = yield* use("applications.list", (db) =>
        db.select().from(applications).orderBy(applications.createdAt, sql`rowid`).all(),
      );
      return rows.map(toApplication);
    }),

    getApplication,

    /** Disabled applications' keys stop authenticating at once; their usage stays readable. */
    disableApplication: Effect.fn("Accounts.disableApplication")(function* (applicationId: string) {
      const now = yield* Clock.currentTimeMillis;
      yield* use("applications.disable", (db) =>
        db
          .update(applications)
          .set({ status: "disabled", disabledAt: now })
          .where(and(eq(applications.id, applicationId), eq(applications.status, "active")))
          .run(),
      );
      cache.invalidate((k) => k.applicationId === applicationId);
      return yield* getApplication(applicationId);
    }),

    /** Returns the secret once; only its hash and a visible prefix are stored. */
    createKey: Effect.fn("Accounts.createKey")(function* (applicationId: string, input: NewKey) {
      const application = yield* getApplication(applicationId);
      if (application.status !== "active") return yield* new ApplicationDisabled({ applicationId });
      const secret = generateApiKey();
      const id = `key_${randomBase62(16)}`;
      const createdAt = yield* Clock.currentTimeMillis;
      yield* use("apiKeys.insert", (db) =>
        db
          .insert(apiKeys)
          .values({
            id,
            applicationId,
            name: input.name,
            prefix: visiblePrefix(secret),
            hash: hashApiKey(secret),
            status: "active",
            rpm: input.rpm ?? null,
            tpm: input.tpm ?? null,
            budgetMicroUsd: input.budgetMicroUsd ?? null,
            createdAt,
          })
          .run(),
      );
      return { key: yield* getKey(id), secret };
    }),

    listKeys: Effect.fn("Accounts.listKeys")(function* (filter: { readonly applicationId?: string } = {}) {
      const rows = yield* use("apiKeys.list", (db) =>
        db
          .select()
          .from(apiKeys)
          .where(
            filter.applicationId === undefined ? undefined : eq(apiKeys.applicationId, filter.applicationId),
          )
          .orderBy(apiKeys.createdAt, sql`rowid`)
          .all(),
      );
      return rows.map(toApiKey);
    }),

    getKey,

    revokeKey: Effect.fn("Accounts.revokeKey")(function* (keyId: string) {
      const now = yield* Clock.currentTimeMillis;
      yield* use("apiKeys.revoke", (db) =>
        db
          .update(apiKeys)
          .set({ status: "revoked", revokedAt: now })
          .where(and(eq(apiKeys.id, keyId), eq(apiKeys.status, "active")))
          .run(),
      );
      cache.invalidate((k) => k.keyId === keyId);
      return yield* getKey(keyId);
    }),

    /** Changes a key's name or limits (`null` lifts a limit); takes effect on the next request. */
    updateKey: Effect.fn("Accounts.updateKey")(function* (keyId: string, patch: KeyPatch) {
      const set = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as KeyPatch;
      if (Object.keys(set).length > 0) {
        yield* use("apiKeys.update", (db) => db.update(apiKeys).set(set).where(eq(apiKeys.id, keyId)).run());
      }
      cache.invalidate((k) => k.keyId === keyId);
      return yield* getKey(keyId);
    }),

    /**
     * The key behind an `Authorization` header value (`Bearer pai_…` or the bare key). Unknown,
     * revoked, malformed and missing keys, and keys of disabled applications, all fail the same way.
     */
    authenticate: Effect.fn("Accounts.authenticate")(function* (authorization: string | undefined) {
      const token = bearerToken(authorization);
      if (token === undefined || !isWellFormedApiKey(token)) {
        return yield* new InvalidApiKey({ reason: "missing or malformed" });
      }
      const hash = hashApiKey(token);
      const now = yield* Clock.currentTimeMillis;
      const cached = cache.get(hash, now);
      if (cached !== undefined) return cached;
      const row = yield* use("apiKeys.authenticate", (db) => findKeyByHash(db, hash));
      // The lookup is by the hash of a 190-bit secret, so index timing reveals nothing usable;
      // the final comparison is constant-time all the same.
      if (row === undefined || !sameHash(row.hash, hash))
        return yield* new InvalidApiKey({ reason: "unknown" });
      if (row.keyStatus !== "active") return yield* new InvalidApiKey({ reason: "revoked" });
      if (row.applicationStatus !== "active")
        return yield* new InvalidApiKey({ reason: "application disabled" });
      const { keyId, applicationId, applicationAddress, rpm, tpm } = row;
      const key: AuthenticatedKey = { keyId, applicationId, applicationAddress, rpm, tpm };
      cache.set(hash, key, now);
      return key;
    }),
  };
});

/** Applications and their API keys: the portal's customers and how they authenticate. */
export class Accounts extends Context.Tag("gateway/Accounts")<
  Accounts,
  Effect.Effect.Success<typeof make>
>() {
  static layer = Layer.effect(Accounts, make);
}
