/**
 * Counts turns of the event loop (one `setImmediate` callback a turn) until `stop()`: work that
 * holds the loop lets none through, so a count read before and after a step tells whether the
 * step let the node's other relays run meanwhile.
 */
export function countTurns(): { readonly count: () => number; readonly stop: () => void } {
  let turns = 0;
  let running = true;
  const tick = () => {
    turns += 1;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  return {
    count: () => turns,
    stop: () => {
      running = false;
    },
  };
}
