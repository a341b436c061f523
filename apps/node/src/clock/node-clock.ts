import { Context, Effect, Layer } from "effect";

/**
 * The one clock the node reads (Unix ms): session checks, ledger timestamps, announcements,
 * claims. The default reads Effect's `Clock`, so a test clock moves it; `fixed` takes any function.
 */
export class NodeClock extends Context.Tag("node/NodeClock")<NodeClock, { readonly now: () => number }>() {
  static readonly layer = Layer.effect(
    NodeClock,
    Effect.map(Effect.clock, (clock) => ({ now: () => clock.unsafeCurrentTimeMillis() })),
  );

  static readonly from = (now: () => number) => Layer.succeed(NodeClock, { now });
}
