import { z } from "zod";

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/**
 * How sessions are cut. Time-based: session `n` is `[genesisMs + n·sessionLengthMs,
 * genesisMs + (n+1)·sessionLengthMs)` in Unix milliseconds, and relays of a session are still
 * accepted `graceMs` after it ends. Height-based: session `n` is blocks
 * `[n·blocksPerSession, (n+1)·blocksPerSession)`, with `graceBlocks` of grace. Windows are
 * half-open: `sessionEnd` is the first instant (or height) of the next session.
 *
 * @example
 * ```ts
 * SessionParams.parse({ mode: "time", genesisMs: 0, sessionLengthMs: 3_600_000, graceMs: 60_000 });
 * SessionParams.parse({ mode: "height", blocksPerSession: 4, graceBlocks: 1 });
 * ```
 */
export const SessionParams = z.discriminatedUnion("mode", [
  z.strictObject({
    mode: z.literal("time"),
    genesisMs: count,
    sessionLengthMs: count.min(1),
    graceMs: count,
  }),
  z.strictObject({
    mode: z.literal("height"),
    blocksPerSession: count.min(1),
    graceBlocks: count,
  }),
]);

/**
 * A parsed {@link SessionParams}.
 *
 * @example
 * ```ts
 * const params: SessionParams = { mode: "height", blocksPerSession: 4, graceBlocks: 1 };
 * ```
 */
export type SessionParams = z.infer<typeof SessionParams>;

/**
 * The session parameters of a process that knows the time but no chain's block height (the
 * gateway and node apps): time mode only. Height mode there would read the clock's milliseconds as
 * block heights and every relay would fall outside its session, so it is refused when the
 * configuration is read, with a message that says what to use instead.
 *
 * @example
 * ```ts
 * ClockSessionParams.parse({ mode: "time", genesisMs: 0, sessionLengthMs: 600_000, graceMs: 60_000 });
 * ClockSessionParams.safeParse({ mode: "height", blocksPerSession: 4, graceBlocks: 1 }).success; // false
 * ```
 */
export const ClockSessionParams = SessionParams.refine((params) => params.mode === "time", {
  message:
    'height-based sessions need a chain\'s block height, which this process does not read; use { mode: "time", genesisMs, sessionLengthMs, graceMs }',
});

/**
 * A session's half-open window `[start, end)`, in milliseconds or block heights.
 *
 * @example
 * ```ts
 * const w: SessionWindow = { start: 0, end: 3_600_000 };
 * ```
 */
export interface SessionWindow {
  readonly start: number;
  readonly end: number;
}

function origin(params: SessionParams): number {
  return params.mode === "time" ? params.genesisMs : 0;
}

function length(params: SessionParams): number {
  return params.mode === "time" ? params.sessionLengthMs : params.blocksPerSession;
}

/**
 * The grace after a session's end during which its relays are still accepted (ms or blocks).
 *
 * @example
 * ```ts
 * sessionGrace({ mode: "height", blocksPerSession: 4, graceBlocks: 1 }); // 1
 * ```
 */
export function sessionGrace(params: SessionParams): number {
  return params.mode === "time" ? params.graceMs : params.graceBlocks;
}

/**
 * The number of the session that contains `timeOrHeight` (Unix ms or block height, per the
 * params' mode). Throws `RangeError` before genesis or for a non-integer / unsafe input.
 *
 * @example
 * ```ts
 * const params = SessionParams.parse({ mode: "time", genesisMs: 1_000, sessionLengthMs: 100, graceMs: 10 });
 * sessionNumberAt(params, 1_250); // 2
 * ```
 */
export function sessionNumberAt(params: SessionParams, timeOrHeight: number): number {
  if (!Number.isSafeInteger(timeOrHeight)) {
    throw new RangeError(`sessionNumberAt: ${timeOrHeight} is not a safe integer`);
  }
  const since = timeOrHeight - origin(params);
  if (since < 0) throw new RangeError(`sessionNumberAt: ${timeOrHeight} is before genesis ${origin(params)}`);
  return Math.floor(since / length(params));
}

/**
 * The window of session `n`. Throws `RangeError` for a negative, fractional or too large `n`.
 *
 * @example
 * ```ts
 * sessionWindow({ mode: "height", blocksPerSession: 4, graceBlocks: 1 }, 3); // { start: 12, end: 16 }
 * ```
 */
export function sessionWindow(params: SessionParams, n: number): SessionWindow {
  const start = origin(params) + n * length(params);
  const end = start + length(params);
  if (!Number.isSafeInteger(n) || n < 0 || !Number.isSafeInteger(end)) {
    throw new RangeError(`sessionWindow: session ${n} is out of range`);
  }
  return { start, end };
}
