import type { EvaluatorStoreImpl } from "../db/evaluator-store.js";
import { sharedBackendGroups } from "../identity/shared-backend.js";

const SEPARATOR = "\u0000";

/**
 * Recomputes shared-backend groups over every published (node, service) entry from the fingerprint
 * results of the run each entry came from, and writes each entry's group into it. Entries without
 * fingerprints (image services) are not compared.
 */
export function refreshSharedBackendGroups(store: EvaluatorStoreImpl): void {
  const fingerprints = new Map<string, Map<string, string>>();
  for (const { runId, entry } of store.published()) {
    const answers = new Map<string, string>();
    for (const row of store.results(runId)) {
      if (row.category === "fingerprint" && row.status === "scored" && row.responseHash !== null) {
        answers.set(row.promptHash, row.responseHash);
      }
    }
    if (answers.size > 0) fingerprints.set(`${entry.address}${SEPARATOR}${entry.serviceId}`, answers);
  }
  for (const [key, group] of sharedBackendGroups(fingerprints)) {
    const [address, serviceId] = key.split(SEPARATOR) as [string, string];
    store.setSharedBackendGroup(address, serviceId, group);
  }
}
