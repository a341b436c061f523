import type { SqlClient } from "@pocket-ai/runtime";
import { sql } from "drizzle-orm";

/** What authentication needs about a key: the key, its limits, and the state of its application. */
export interface KeyByHash {
  readonly keyId: string;
  readonly hash: string;
  readonly keyStatus: "active" | "revoked";
  readonly applicationId: string;
  readonly applicationAddress: string;
  readonly applicationStatus: "active" | "disabled";
  readonly rpm: number | null;
  readonly tpm: number | null;
  /** 1 (or true): organic checks may sample the application's completions. */
  readonly organicChecks: number | boolean;
}

/** The key with this hash and the state of its application: what authentication needs, nothing more. */
export function findKeyByHash(db: SqlClient, hash: string): Promise<KeyByHash | undefined> {
  return db.get<KeyByHash>(sql`
    select k.id as "keyId", k.hash, k.status as "keyStatus", a.id as "applicationId",
           a.address as "applicationAddress", a.status as "applicationStatus", k.rpm, k.tpm,
           a.organic_checks as "organicChecks"
    from api_keys k join applications a on k.application_id = a.id
    where k.hash = ${hash}`);
}
