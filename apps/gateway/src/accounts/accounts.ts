import { plainSql, spannedFn } from "@pocket-ai/runtime";
import { sql } from "drizzle-orm";
import { Clock, Context, Effect, Layer, Redacted } from "effect";
import { API_KEY_COLUMNS, APPLICATION_COLUMNS, insertionOrder } from "../db/columns.js";
import { GatewayStore, storeRunner } from "../db/database.js";
import type { apiKeys, applications } from "../db/schema.js";
import { rebuildBuckets } from "../limits/budget-ledger.js";
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
import {
  AccountBudgetReached,
  ApiKeyNotFound,
  ApplicationDisabled,
  ApplicationNotFound,
  InvalidApiKey,
  KeyLimitReached,
  SelfServeBudgetLimited,
} from "./errors.js";
import { KeyCache } from "./key-cache.js";
import {
  activeKeyCount,
  budgetRoom,
  budgetWithin,
  grantOf,
  grantWithinDay,
  type KeyCaps,
  lockApplication,
} from "./key-caps.js";
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

/**
 * Why a key change was refused inside its transaction: returned rather than thrown (nothing was
 * written, and a throw out of a transaction reads as a storage failure).
 */
type KeyRefusal =
  | ApplicationNotFound
  | ApplicationDisabled
  | ApiKeyNotFound
  | KeyLimitReached
  | AccountBudgetReached
  | SelfServeBudgetLimited;

const make = Effect.gen(function* () {
  const store = yield* GatewayStore;
  const config = yield* AccountsConfig;
  // Read once: a `Clock` step per request is two fiber steps on the hot path.
  const clock = yield* Effect.clock;
  const cache = new KeyCache(config.keyCacheMaxEntries, config.keyCacheTtlMs);
  const use = storeRunner(store);

  /** A key not in the cache: looked up by its hash, and cached when it may be used. */
  const lookUpKey = Effect.fnUntraced(function* (hash: string, now: number) {
    const row = yield* use("apiKeys.authenticate", (db) => findKeyByHash(db, hash));
    // The lookup is by the hash of a 190-bit secret, so index timing reveals nothing usable;
    // the final comparison is constant-time all the same.
    if (row === undefined || !sameHash(row.hash, hash))
      return yield* new InvalidApiKey({ reason: "unknown" });
    if (row.keyStatus !== "active") return yield* new InvalidApiKey({ reason: "revoked" });
    if (row.applicationStatus !== "active")
      return yield* new InvalidApiKey({ reason: "application disabled" });
    const { keyId, applicationId, applicationAddress, rpm, tpm } = row;
    const organicChecks = Number(row.organicChecks) !== 0;
    const key: AuthenticatedKey = { keyId, applicationId, applicationAddress, rpm, tpm, organicChecks };
    cache.set(hash, key, now);
    return key;
  });

  const getApplication = Effect.fn("Accounts.getApplication")(function* (applicationId: string) {
    const row = yield* use("applications.get", (db) =>
      db.get<typeof applications.$inferSelect>(
        sql`select ${APPLICATION_COLUMNS} from applications where id = ${applicationId}`,
      ),
    );
    if (row === undefined) return yield* new ApplicationNotFound({ applicationId });
    return toApplication(row);
  });

  const getKey = Effect.fn("Accounts.getKey")(function* (keyId: string) {
    const row = yield* use("apiKeys.get", (db) =>
      db.get<typeof apiKeys.$inferSelect>(sql`select ${API_KEY_COLUMNS} from api_keys where id = ${keyId}`),
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
        db.run(sql`insert into applications (id, address, name, operator, status, created_at)
          values (${row.id}, ${row.address}, ${row.name}, ${row.operator}, 'active', ${row.createdAt})`),
      );
      return yield* getApplication(id);
    }),

    listApplications: Effect.fn("Accounts.listApplications")(function* () {
      const rows = yield* use("applications.list", (db) =>
        db.all<typeof applications.$inferSelect>(
          sql`select ${APPLICATION_COLUMNS} from applications order by created_at, ${insertionOrder(db)}`,
        ),
      );
      return rows.map(toApplication);
    }),

    getApplication,

    /** Disabled applications' keys stop authenticating at once; their usage stays readable. */
    disableApplication: Effect.fn("Accounts.disableApplication")(function* (applicationId: string) {
      const now = yield* Clock.currentTimeMillis;
      yield* use("applications.disable", (db) =>
        db.run(sql`update applications set status = 'disabled', disabled_at = ${now}
          where id = ${applicationId} and status = 'active'`),
      );
      cache.invalidate((k) => k.applicationId === applicationId);
      return yield* getApplication(applicationId);
    }),

    /**
     * Undoes {@link disableApplication}: the application's keys that were not revoked authenticate
     * again from the next request (a disabled application's keys are never cached), and new keys
     * may be created for it. Enabling an active application changes nothing.
     */
    enableApplication: Effect.fn("Accounts.enableApplication")(function* (applicationId: string) {
      yield* use("applications.enable", (db) =>
        db.run(sql`update applications set status = 'active', disabled_at = null
          where id = ${applicationId} and status = 'disabled'`),
      );
      return yield* getApplication(applicationId);
    }),

    /**
     * Whether organic checks may sample the application's completions. Takes effect at once on
     * this replica and within the key cache's lifetime on the others.
     */
    setOrganicChecks: Effect.fn("Accounts.setOrganicChecks")(function* (
      applicationId: string,
      enabled: boolean,
    ) {
      yield* getApplication(applicationId);
      yield* use("applications.organicChecks", (db) =>
        db.run(sql`update applications set organic_checks = ${enabled ? 1 : 0} where id = ${applicationId}`),
      );
      cache.invalidate((k) => k.applicationId === applicationId);
      return yield* getApplication(applicationId);
    }),

    /**
     * Returns the secret once; only its hash and a visible prefix are stored. With `caps`, the
     * application's active keys and held budget are checked in the transaction that inserts the
     * key, with the application's row locked (see {@link KeyCaps}).
     */
    createKey: Effect.fn("Accounts.createKey")(function* (
      applicationId: string,
      input: NewKey,
      caps: KeyCaps = {},
    ) {
      const secret = generateApiKey();
      const id = `key_${randomBase62(16)}`;
      const createdAt = yield* Clock.currentTimeMillis;
      const outcome = yield* use("apiKeys.insert", (db) =>
        db.transaction(async (tx): Promise<KeyRefusal | undefined> => {
          const status = await lockApplication(tx, applicationId);
          if (status === undefined) return new ApplicationNotFound({ applicationId });
          if (status !== "active") return new ApplicationDisabled({ applicationId });
          const { maxActiveKeys, maxHeldMicroUsd } = caps;
          if (maxActiveKeys !== undefined && (await activeKeyCount(tx, applicationId)) >= maxActiveKeys)
            return new KeyLimitReached({ applicationId, maxActiveKeys });
          let budget = input.budgetMicroUsd ?? null;
          if (maxHeldMicroUsd !== undefined) {
            const room = await budgetRoom(tx, applicationId, maxHeldMicroUsd);
            const fitted = budgetWithin(room, budget, caps.fitBudgetToRoom === true);
            if (fitted === "refused")
              return new AccountBudgetReached({ applicationId, maxHeldMicroUsd, roomMicroUsd: room ?? 0 });
            budget = fitted;
          }
          if (caps.grantsPerDay !== undefined) {
            const room = await grantWithinDay(tx, grantOf(0, budget), caps.grantsPerDay);
            if (room !== undefined)
              return new SelfServeBudgetLimited({
                maxMicroUsd: caps.grantsPerDay.maxMicroUsd,
                roomMicroUsd: room,
              });
          }
          await tx.run(sql`insert into api_keys
            (id, application_id, name, prefix, hash, status, rpm, tpm, budget_micro_usd, created_at)
            values (${id}, ${applicationId}, ${input.name}, ${visiblePrefix(secret)}, ${hashApiKey(secret)},
              'active', ${input.rpm ?? null}, ${input.tpm ?? null}, ${budget}, ${createdAt})`);
          return undefined;
        }),
      );
      if (outcome !== undefined) return yield* outcome;
      return { key: yield* getKey(id), secret };
    }),

    listKeys: Effect.fn("Accounts.listKeys")(function* (filter: { readonly applicationId?: string } = {}) {
      const rows = yield* use("apiKeys.list", (db) =>
        db.all<typeof apiKeys.$inferSelect>(sql`select ${API_KEY_COLUMNS} from api_keys
          ${filter.applicationId === undefined ? sql`` : sql`where application_id = ${filter.applicationId}`}
          order by created_at, ${insertionOrder(db)}`),
      );
      return rows.map(toApiKey);
    }),

    getKey,

    revokeKey: Effect.fn("Accounts.revokeKey")(function* (keyId: string) {
      const now = yield* Clock.currentTimeMillis;
      yield* use("apiKeys.revoke", (db) =>
        db.run(sql`update api_keys set status = 'revoked', revoked_at = ${now}
          where id = ${keyId} and status = 'active'`),
      );
      cache.invalidate((k) => k.keyId === keyId);
      return yield* getKey(keyId);
    }),

    /**
     * Changes a key's name or limits (`null` lifts a limit); takes effect on the next request.
     * With `caps.maxHeldMicroUsd`, a new budget is checked against the application's other keys in
     * the transaction that writes it, with the application's row locked (see {@link KeyCaps}); with
     * `caps.grantsPerDay`, what it adds to the key's budget is counted against the day's grants.
     */
    updateKey: Effect.fn("Accounts.updateKey")(function* (
      keyId: string,
      patch: KeyPatch,
      caps: KeyCaps = {},
    ) {
      const columns = { name: "name", rpm: "rpm", tpm: "tpm", budgetMicroUsd: "budget_micro_usd" } as const;
      const changed = (Object.keys(columns) as Array<keyof typeof columns>).filter(
        (k) => patch[k] !== undefined,
      );
      if (changed.length > 0) {
        const now = yield* Clock.currentTimeMillis;
        const limitsChange = patch.rpm !== undefined || patch.tpm !== undefined;
        const { maxHeldMicroUsd, grantsPerDay } = caps;
        const outcome = yield* use("apiKeys.update", (db) =>
          db.transaction(async (tx): Promise<KeyRefusal | undefined> => {
            let budget = patch.budgetMicroUsd;
            const capped = maxHeldMicroUsd !== undefined || grantsPerDay !== undefined;
            if (capped && patch.budgetMicroUsd !== undefined) {
              const key = await tx.get<{ applicationId: string }>(
                plainSql`select application_id as "applicationId" from api_keys where id = ${keyId}`,
              );
              if (key === undefined) return new ApiKeyNotFound({ keyId });
              const { applicationId } = key;
              await lockApplication(tx, applicationId);
              if (maxHeldMicroUsd !== undefined) {
                const room = await budgetRoom(tx, applicationId, maxHeldMicroUsd, keyId);
                const fitted = budgetWithin(room, patch.budgetMicroUsd, caps.fitBudgetToRoom === true);
                if (fitted === "refused")
                  return new AccountBudgetReached({
                    applicationId,
                    maxHeldMicroUsd,
                    roomMicroUsd: room ?? 0,
                  });
                budget = fitted;
              }
              if (grantsPerDay !== undefined) {
                // Read after the application's lock: no other capped change of its keys is under way.
                const before = await tx.get<{ budget: number | null }>(
                  plainSql`select budget_micro_usd as "budget" from api_keys where id = ${keyId}`,
                );
                const grant = grantOf(before?.budget == null ? null : Number(before.budget), budget ?? null);
                const room = await grantWithinDay(tx, grant, grantsPerDay);
                if (room !== undefined)
                  return new SelfServeBudgetLimited({
                    maxMicroUsd: grantsPerDay.maxMicroUsd,
                    roomMicroUsd: room,
                  });
              }
            }
            const assignments = changed.map(
              (k) => sql`${sql.raw(columns[k])} = ${k === "budgetMicroUsd" ? budget : patch[k]}`,
            );
            await tx.run(sql`update api_keys set ${sql.join(assignments, sql`, `)} where id = ${keyId}`);
            // Buckets are kept only while a key has a limit: start them over from its rows.
            if (limitsChange) await rebuildBuckets(tx, keyId, now);
            return undefined;
          }),
        );
        if (outcome !== undefined) return yield* outcome;
      }
      cache.invalidate((k) => k.keyId === keyId);
      return yield* getKey(keyId);
    }),

    /**
     * The key behind an `Authorization` header value (`Bearer pai_…` or the bare key). Unknown,
     * revoked, malformed and missing keys, and keys of disabled applications, all fail the same way.
     */
    authenticate: spannedFn("Accounts.authenticate", (authorization: string | undefined) => {
      const token = bearerToken(authorization);
      if (token === undefined || !isWellFormedApiKey(token))
        return Effect.fail(new InvalidApiKey({ reason: "missing or malformed" }));
      const hash = hashApiKey(token);
      const now = clock.unsafeCurrentTimeMillis();
      const cached = cache.get(hash, now);
      // A cached key is answered without a generator's fiber steps (nearly every request).
      return cached === undefined ? lookUpKey(hash, now) : Effect.succeed(cached);
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
