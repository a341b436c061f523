/** Pixel bytes handled between two turns of the event loop in the async passes (a few ms of work). */
export const SLICE_BYTES = 256 * 1024;

/** Rows of `rowBytes` bytes in one slice (at least one). */
export const sliceRows = (rowBytes: number) => Math.max(1, Math.floor(SLICE_BYTES / Math.max(1, rowBytes)));

/** One turn of the event loop: what is waiting (other requests, timers) runs first. */
export const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Runs `band(from, to)` over the rows `[0, height)` in order, a band of about {@link SLICE_BYTES}
 * at a time (rows of `rowBytes` each), with a turn of the event loop after each band: a full pass
 * over a large picture leaves the process's other requests waiting a few ms at most. A pass whose
 * pixels cost more than a byte copy passes a larger `rowBytes` (its work per row in bytes' worth).
 *
 * @example
 * await inRowBands(image.height, image.width * 4, (from, to) => invertRows(image, from, to));
 */
export async function inRowBands(
  height: number,
  rowBytes: number,
  band: (from: number, to: number) => void,
): Promise<void> {
  const rows = sliceRows(rowBytes);
  for (let y = 0; y < height; y += rows) {
    band(y, Math.min(height, y + rows));
    await nextTurn();
  }
}
