import { inRowBands, type RgbaImage } from "@pocket-ai/png";

/** Where the init image sits in the canvas, and how far each of its pixels moves toward the field. */
export interface CompositeLayout {
  readonly width: number;
  readonly height: number;
  readonly pad: { readonly top: number; readonly left: number };
  /** 0..1 for init pixel `i` (row-major in the init image): 0 keeps it exactly. */
  readonly strengthAt: (i: number) => number;
}

/**
 * Places the init image at (left, top) of the canvas. Inside it, pixel i moves toward the field
 * by `strengthAt(i)`; strength 0 copies the init pixel exactly. Outside it (the new border), the
 * field is blended with the nearest edge pixel of the init image, fading out with distance so
 * the seam does not show.
 */
export function composite(init: RgbaImage, field: Uint8Array, layout: CompositeLayout): Uint8Array {
  const out = new Uint8Array(layout.width * layout.height * 4);
  compositeRows(init, field, layout, out, 0, layout.height);
  return out;
}

/**
 * {@link composite} a band of rows at a time, with a turn of the event loop between bands (see
 * `inRowBands`): a large canvas does not hold the node's other relays. Same bytes.
 */
export async function compositeAsync(
  init: RgbaImage,
  field: Uint8Array,
  layout: CompositeLayout,
): Promise<Uint8Array> {
  const out = new Uint8Array(layout.width * layout.height * 4);
  await inRowBands(layout.height, layout.width * 4 * COMPOSITE_COST, (from, to) =>
    compositeRows(init, field, layout, out, from, to),
  );
  return out;
}

/** Work per canvas byte, relative to copying one (see `inRowBands`): a blend and a lookup a pixel. */
const COMPOSITE_COST = 4;

function compositeRows(
  init: RgbaImage,
  field: Uint8Array,
  { width, pad, strengthAt }: CompositeLayout,
  out: Uint8Array,
  from: number,
  to: number,
): void {
  for (let y = from; y < to; y++) {
    const iy = y - pad.top;
    for (let x = 0; x < width; x++) {
      const ix = x - pad.left;
      const o = (y * width + x) * 4;
      const inside = ix >= 0 && iy >= 0 && ix < init.width && iy < init.height;
      const cx = Math.min(init.width - 1, Math.max(0, ix));
      const cy = Math.min(init.height - 1, Math.max(0, iy));
      const s = (cy * init.width + cx) * 4;
      let t: number;
      if (inside) t = strengthAt(cy * init.width + cx);
      else t = 1 - Math.exp(-Math.hypot(ix - cx, iy - cy) / 24) * 0.8;
      for (let c = 0; c < 3; c++)
        out[o + c] = Math.round(init.data[s + c]! + (field[o + c]! - init.data[s + c]!) * t);
      const a = init.data[s + 3]!;
      out[o + 3] = inside ? Math.round(a + (255 - a) * t) : 255;
    }
  }
}
