import type { EvaluatorStoreImpl } from "../db/evaluator-store.js";
import { sharedBackendGroups } from "../identity/shared-backend.js";

/**
 * Recomputes shared-backend groups over every published node from the fingerprint results of the
 * run each entry came from, and writes each node's group into its entry.
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
    fingerprints.set(entry.address, answers);
  }
  for (const [address, group] of sharedBackendGroups(fingerprints))
    store.setSharedBackendGroup(address, group);
}
