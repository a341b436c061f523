import type { EvaluatorStoreImpl } from "../db/evaluator-store.js";
import { sharedBackendGroups } from "../identity/shared-backend.js";

const SEPARATOR = "\u0000";

/**
 * Recomputes shared-backend groups over every published (node, service) entry from the fingerprint
 * results of the run each entry came from (one query), and writes each entry's group into it where
 * it changed. Entries without fingerprints (image services) are not compared.
 */
export function refreshSharedBackendGroups(store: EvaluatorStoreImpl): void {
  const fingerprints = new Map<string, Map<string, string>>();
  for (const row of store.publishedFingerprints()) {
    const key = `${row.nodeAddress}${SEPARATOR}${row.serviceId}`;
    const answers = fingerprints.get(key);
    if (answers === undefined) fingerprints.set(key, new Map([[row.promptHash, row.responseHash]]));
    else answers.set(row.promptHash, row.responseHash);
  }
  for (const [key, group] of sharedBackendGroups(fingerprints)) {
    const [address, serviceId] = key.split(SEPARATOR) as [string, string];
    store.setSharedBackendGroup(address, serviceId, group);
  }
}
