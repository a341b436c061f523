import { decodePng, type RgbaImage } from "@pocket-ai/png";
import { sha256Hex } from "../runs/rng.js";
import { BLANK_MAX_COLOURS, BLANK_MAX_STD_DEV } from "./image-thresholds.js";
import { differenceHash } from "./perceptual-hash.js";
import { pixelStats } from "./pixel-stats.js";

/** The per-image checks; `seed` and `distinct` compare probes and are made when the run is scored. */
export interface ImageCheckResults {
  readonly png: boolean;
  readonly size: boolean;
  readonly notBlank: boolean;
}

/** What is kept of one returned picture: check results, hashes and one number — never the picture. */
export interface ImageInspection {
  readonly checks: ImageCheckResults;
  /** SHA-256 of the decoded RGBA pixels (of the file when it does not decode): exact sameness. */
  readonly pixelHash: string;
  readonly perceptualHash: string | null;
  /** The largest per-channel standard deviation, 0–255; null when the file does not decode. */
  readonly maxChannelStdDev: number | null;
  readonly distinctColours: number | null;
}

/** The PNG's pixels, or undefined when the bytes are not a PNG that decodes. */
export function decoded(bytes: Uint8Array): RgbaImage | undefined {
  try {
    return decodePng(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Checks one answer to an image probe: it is a PNG that decodes, it is the size asked for, and it
 * is not blank. A check that cannot be made because the file does not decode counts as failed.
 */
export function inspectImage(
  bytes: Uint8Array | undefined,
  asked: { readonly width: number; readonly height: number },
): ImageInspection {
  const image = bytes === undefined ? undefined : decoded(bytes);
  if (image === undefined) {
    return {
      checks: { png: false, size: false, notBlank: false },
      pixelHash: sha256Hex(bytes ?? new Uint8Array(0)),
      perceptualHash: null,
      maxChannelStdDev: null,
      distinctColours: null,
    };
  }
  const stats = pixelStats(image);
  const spread = Math.max(...stats.channelStdDev);
  return {
    checks: {
      png: true,
      size: image.width === asked.width && image.height === asked.height,
      notBlank: spread > BLANK_MAX_STD_DEV && stats.distinctColours > BLANK_MAX_COLOURS,
    },
    pixelHash: sha256Hex(image.data),
    perceptualHash: differenceHash(image),
    maxChannelStdDev: spread,
    distinctColours: stats.distinctColours,
  };
}
