import { createHook } from "node:async_hooks";

// For tests of code that yields to the event loop (`@pocket-ai/png/testing`): the apps' tests of
// image paths and this package's own use it.

/**
 * Counts the turns of the event loop that the code under test gives back while it works, until
 * `stop()`: a turn counts when one of that code's `setImmediate` callbacks (a yield between two
 * slices of work) ran since the counter's previous turn. Work that holds the loop lets no turn
 * through, so a step cut into n slices adds about n and a step that holds the loop adds none.
 * Turns the loop spins through while the process only waits (on zlib's thread pool, on a socket)
 * are not counted: the count follows the work done, never how long anything took.
 */
export function countTurns(): { readonly count: () => number; readonly stop: () => void } {
  let turns = 0;
  let running = true;
  let scheduling = false;
  let yielded = false;
  const theirs = new Set<number>();
  const hook = createHook({
    init(asyncId, type) {
      if (type === "Immediate" && !scheduling) theirs.add(asyncId);
    },
    before(asyncId) {
      if (theirs.delete(asyncId)) yielded = true;
    },
  }).enable();
  const tick = () => {
    if (yielded) turns += 1;
    yielded = false;
    if (running) schedule();
  };
  const schedule = () => {
    scheduling = true;
    try {
      setImmediate(tick);
    } finally {
      scheduling = false;
    }
  };
  schedule();
  return {
    count: () => turns,
    stop: () => {
      running = false;
      hook.disable();
    },
  };
}
