import type { apiKeys, applications } from "../db/schema.js";

/** An application as the admin API shows it. */
export interface Application {
  readonly id: string;
  /** The `pokt1…` address its sessions are derived from. */
  readonly address: string;
  readonly name: string;
  readonly operator: string | null;
  readonly status: "active" | "disabled";
  readonly createdAt: number;
  readonly disabledAt: number | null;
  /** Organic checks may sample this application's completions (held in memory, never stored). */
  readonly organicChecks: boolean;
}

/** Per-key limits; `null` means unlimited. */
export interface KeyLimits {
  readonly rpm: number | null;
  readonly tpm: number | null;
  readonly budgetMicroUsd: number | null;
}

/** An API key's metadata. Never holds the secret or its hash. */
export interface ApiKey extends KeyLimits {
  readonly id: string;
  readonly applicationId: string;
  readonly name: string;
  /** The first characters of the key, e.g. `pai_Ab12Cd…`. */
  readonly prefix: string;
  readonly status: "active" | "revoked";
  readonly createdAt: number;
  readonly revokedAt: number | null;
  readonly lastUsedAt: number | null;
}

/** What the relay path knows about the caller after {@link Accounts.authenticate}. */
export interface AuthenticatedKey {
  readonly keyId: string;
  readonly applicationId: string;
  readonly applicationAddress: string;
  readonly rpm: number | null;
  readonly tpm: number | null;
  /** The application lets organic checks sample its completions. */
  readonly organicChecks: boolean;
}

/** The only time a key's secret leaves the gateway: in the answer to `createKey`. */
export interface CreatedKey {
  readonly key: ApiKey;
  readonly secret: string;
}

export function toApplication(row: typeof applications.$inferSelect): Application {
  const { id, address, name, operator, status, createdAt, disabledAt } = row;
  return {
    id,
    address,
    name,
    operator,
    status,
    createdAt,
    disabledAt,
    organicChecks: Number(row.organicChecks) !== 0,
  };
}

export function toApiKey(row: typeof apiKeys.$inferSelect): ApiKey {
  const { id, applicationId, name, prefix, status, rpm, tpm, budgetMicroUsd } = row;
  return {
    id,
    applicationId,
    name,
    prefix,
    status,
    rpm,
    tpm,
    budgetMicroUsd,
    createdAt: row.createdAt,
    revokedAt: row.revokedAt,
    lastUsedAt: row.lastUsedAt,
  };
}
