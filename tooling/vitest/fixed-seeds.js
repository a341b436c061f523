/**
 * Every property test draws from one fixed fast-check seed, so a run's outcome never depends on a
 * random draw: CI and a developer's machine check the same cases. Set `FC_SEED` to explore others
 * (a failure prints the seed and path that reproduce it). Packages without fast-check skip this.
 */
let fc;
try {
  fc = (await import("fast-check")).default;
} catch {
  fc = undefined;
}
if (fc !== undefined) {
  const seed = Number(process.env.FC_SEED ?? 20_261_202);
  fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
}
