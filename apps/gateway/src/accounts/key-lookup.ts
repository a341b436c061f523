import { eq } from "drizzle-orm";
import type { GatewayDb } from "../db/database.js";
import { apiKeys, applications } from "../db/schema.js";

/** The key with this hash and the state of its application: what authentication needs, nothing more. */
export function findKeyByHash(db: GatewayDb, hash: string) {
  return db
    .select({
      keyId: apiKeys.id,
      hash: apiKeys.hash,
      keyStatus: apiKeys.status,
      applicationId: applications.id,
      applicationAddress: applications.address,
      applicationStatus: applications.status,
      rpm: apiKeys.rpm,
      tpm: apiKeys.tpm,
    })
    .from(apiKeys)
    .innerJoin(applications, eq(apiKeys.applicationId, applications.id))
    .where(eq(apiKeys.hash, hash))
    .get();
}
