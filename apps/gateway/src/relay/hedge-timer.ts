import { Context } from "effect";

/** Calls `fire` once after `ms` milliseconds; the function it returns cancels that (a no-op once fired). */
export type StartTimer = (ms: number, fire: () => void) => () => void;

/**
 * The timer that starts a slow unary relay's hedge: `setTimeout` unless a layer provides another
 * (a test gates the hedge with it, so no wall-clock margin decides which node answers).
 */
export class HedgeTimer extends Context.Reference<HedgeTimer>()("@pocket-ai/gateway/HedgeTimer", {
  defaultValue: (): StartTimer => (ms, fire) => {
    const timer = setTimeout(fire, ms);
    return () => clearTimeout(timer);
  },
}) {}
