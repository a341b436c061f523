/**
 * Every bar the image checks use, in one place (the README's table quotes them). Distances are
 * shares of differing bits of two 256-bit dHashes (`perceptual-hash.ts`): 0 for the same picture,
 * about 0.5 for unrelated ones (0.41–0.59 measured between the dev engine's pictures).
 */

/** Not blank: the most varied of red, green and blue must have a standard deviation above this (0–255). */
export const BLANK_MAX_STD_DEV = 4;

/** Not blank: more distinct RGB colours than this (a flat fill, a two-tone test card are blank). */
export const BLANK_MAX_COLOURS = 16;

/**
 * Seed reproducibility: the same prompt and seed asked twice must give identical pixels, or two
 * pictures at most this far apart (GPU kernels that are not bit-exact move a few bits; ±20 levels
 * of pixel noise measured 0.04; a different seed 0.43–0.54).
 */
export const SEED_MAX_DISTANCE = 0.1;

/**
 * No cached answers: pictures for different prompts at most this far apart are near-duplicates
 * (one picture re-served for another prompt, even resized to another aspect, measured 0.05).
 */
export const DUPLICATE_MAX_DISTANCE = 0.2;

/** A node is flagged for cached answers from this many near-duplicate pairs on (one may be chance). */
export const CACHED_MIN_PAIRS = 2;
