const DAY_MS = 86_400_000;

/**
 * The longest claim window a gateway opens, in ms: a gateway takes a session's claim at most this
 * long after the session's end plus its grace (its `settlement.claimWindowMs` is at most this; a
 * week whose rate was set late reopens the window for as long from when the rate was set). A node
 * that cannot send a claim (its gateway is not in its config) gives it up once this has passed.
 *
 * @example
 * ```ts
 * const lastChance = sessionEnd + session.graceMs + MAX_CLAIM_WINDOW_MS;
 * if (now > lastChance) giveUp(claim);
 * ```
 */
export const MAX_CLAIM_WINDOW_MS = 90 * DAY_MS;

/**
 * The longest proof window a gateway opens, in ms: a claim the gateway stored is proven at most
 * this long after it was stored (its `settlement.proofWindowMs` is at most this).
 *
 * @example
 * ```ts
 * const lastProof = claimStoredAt + MAX_PROOF_WINDOW_MS;
 * ```
 */
export const MAX_PROOF_WINDOW_MS = 90 * DAY_MS;
