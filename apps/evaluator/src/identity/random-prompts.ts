/**
 * Identity, fingerprint and speed probes ask short openings of a sentence, drawn from the
 * probe-text pools (`ProbeTexts.openingPrompt`: an operator's private pool, or the public
 * default), so they read like customer traffic and cannot be looked up. Each run draws new ones;
 * the fingerprint set is shared by every node on the same day so their answers can be compared.
 */

/** The day's fingerprint prompts: the same for every node evaluated that day (UTC). */
export function fingerprintSeed(now: number): number {
  return Math.floor(now / 86_400_000);
}
