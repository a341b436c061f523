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

/**
 * Colour probes ("a plain red background"): at least this share of pixels is saturated (HSV
 * saturation ≥ 0.25), and their mean hue is at most this many degrees from the named colour's (the
 * named colours are ≥ 55° apart, so a picture in another named colour fails).
 */
export const COLOUR_MIN_SATURATED_SHARE = 0.25;
export const COLOUR_MAX_HUE_DISTANCE = 25;
/**
 * … and the saturated hues agree: the length of their saturation-weighted mean direction is at
 * least this (1 = one hue; pixel noise measures about 0.05, the dev engine's colour pictures ≥ 0.8).
 */
export const COLOUR_MIN_CONCENTRATION = 0.5;

/**
 * Edits keep what they must: pixels an edit must not touch (outside an inpainting mask, the source
 * region of an outpainting, beyond a blending band) differ from the source by at most this mean
 * (0–255 levels; re-encoding and a VAE round trip move a few levels) …
 */
export const EDIT_KEPT_MAX_LEVELS = 10;
/** … and the pixels an edit must repaint differ by at least this mean. */
export const EDIT_CHANGED_MIN_LEVELS = 6;

/**
 * Image-to-image strength: the distance from the source at the highest strength asked must exceed
 * the lowest's by this many levels, and no higher strength may come back closer by more than the
 * tolerance.
 */
export const STRENGTH_MIN_STEP_LEVELS = 8;
export const STRENGTH_TOLERANCE_LEVELS = 2;

/**
 * Reference comparison (`image-reference.ts`): a node's picture and the reference's for the same
 * request are "far" when their layouts differ by more than this (1 − correlation of 8 × 8 grayscale
 * thumbnails; ±20 levels of pixel noise measured at most 0.06 on the dev engine's pictures, another
 * seed 0.27–1, median 0.78) …
 */
export const REFERENCE_MAX_LAYOUT = 0.15;
/**
 * … or their colours by more than this (mean absolute difference of 8 × 8 RGB thumbnails as a share
 * of 255, about 5 levels; pixel noise measured at most 0.007, another seed 0.03–0.17).
 */
export const REFERENCE_MAX_COLOUR = 0.02;
/**
 * The share of far pairs an honest node may show (pictures from hardware that is not bit-exact,
 * an odd failed decode): the test asks whether the node's far share is above it.
 */
export const REFERENCE_TOLERATED_FAR_SHARE = 0.1;
/** The one-sided binomial p-value below which a node's pictures are called unlike the reference's. */
export const REFERENCE_ALPHA = 0.01;
/** Fewer compared pairs than this and the comparison is `untested` (4 far of 4 gives p = 0.0001). */
export const REFERENCE_MIN_PAIRS = 4;
