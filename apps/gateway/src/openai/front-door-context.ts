import { Clock, Context, Effect } from "effect";
import { Accounts } from "../accounts/accounts.js";
import { Limits } from "../limits/limits.js";
import { MeteringWriter } from "../metering/metering-writer.js";
import { Dispatcher } from "../relay/dispatcher.js";
import type { FrontDoorServices } from "./relay-call.js";

/** The services a relay goes through, and the fiber's clock, as plain values. */
export interface FrontDoorContext {
  readonly accounts: Context.Tag.Service<typeof Accounts>;
  readonly limits: Context.Tag.Service<typeof Limits>;
  readonly dispatcher: Context.Tag.Service<typeof Dispatcher>;
  readonly meter: Context.Tag.Service<typeof MeteringWriter>;
  /** The fiber's `Clock` (a `TestClock` in tests), in milliseconds. */
  readonly now: () => number;
}

/**
 * The front door's services and clock, read in one fiber step: a `yield*` of each service tag and
 * of `Clock.currentTimeMillis` costs two or three steps, about a dozen per relay otherwise.
 */
export const frontDoorContext = Effect.withFiberRuntime<FrontDoorContext>((fiber) => {
  const context = fiber.currentContext as Context.Context<FrontDoorServices>;
  const clock = Context.get(fiber.currentDefaultServices, Clock.Clock);
  return Effect.succeed({
    accounts: Context.get(context, Accounts),
    limits: Context.get(context, Limits),
    dispatcher: Context.get(context, Dispatcher),
    meter: Context.get(context, MeteringWriter),
    now: () => clock.unsafeCurrentTimeMillis(),
  });
  // The services are read from the fiber's context: declared here, so a caller must provide them.
}) as Effect.Effect<FrontDoorContext, never, FrontDoorServices>;
