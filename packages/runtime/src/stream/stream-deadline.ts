/** Why a {@link StreamDeadline} expired: the whole stream ran too long, or it stalled. */
export type DeadlineReason = "total" | "idle";

export interface StreamDeadlineOptions {
  /** The whole stream must end within this many milliseconds of the deadline's creation. */
  readonly totalMs: number;
  /** Optional: the stream fails when no item arrives for this long ({@link StreamDeadline.touch}). */
  readonly idleMs?: number | undefined;
  /** Called once, when a limit is passed. */
  readonly onExpire: (reason: DeadlineReason) => void;
}

/** `setTimeout`'s longest delay (about 24.8 days); a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * One timer for a whole stream: an overall deadline and, optionally, an idle (stall) limit. Marking
 * progress ({@link touch}) only records the time, so a stream of thousands of items costs one timer,
 * re-armed only when it fires early, instead of a timer per item. The timer is `unref`ed: a pending
 * deadline never keeps a process alive.
 */
export class StreamDeadline {
  readonly #end: number;
  readonly #idleMs: number | undefined;
  readonly #onExpire: (reason: DeadlineReason) => void;
  #last: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #expired: DeadlineReason | undefined;

  constructor(options: StreamDeadlineOptions) {
    const now = performance.now();
    this.#end = now + Math.max(0, options.totalMs);
    this.#idleMs = options.idleMs;
    this.#onExpire = options.onExpire;
    this.#last = now;
    this.#arm(now);
  }

  /** Which limit passed, once one has. */
  get expired(): DeadlineReason | undefined {
    return this.#expired;
  }

  /** Milliseconds left before the overall deadline (0 once passed). */
  remainingMs(): number {
    return Math.max(0, this.#end - performance.now());
  }

  /** Records progress: the idle limit counts from now. */
  touch(): void {
    this.#last = performance.now();
  }

  /** Stops the timer (the stream ended). */
  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #due(): number {
    return this.#idleMs === undefined ? this.#end : Math.min(this.#end, this.#last + this.#idleMs);
  }

  #arm(now: number): void {
    const due = this.#due();
    if (due === Number.POSITIVE_INFINITY) return;
    // A delay past setTimeout's longest fires at once: wait that long at most, then look again.
    const timer = setTimeout(() => this.#fire(), Math.min(MAX_TIMER_MS, Math.max(0, due - now)));
    timer.unref?.();
    this.#timer = timer;
  }

  #fire(): void {
    this.#timer = undefined;
    const now = performance.now();
    const reason: DeadlineReason | undefined =
      now >= this.#end
        ? "total"
        : this.#idleMs !== undefined && now - this.#last >= this.#idleMs
          ? "idle"
          : undefined;
    if (reason === undefined) {
      this.#arm(now);
      return;
    }
    this.#expired = reason;
    this.#onExpire(reason);
  }
}

/**
 * An iterator whose pending `next()` rejects with the signal's reason as soon as `signal` aborts,
 * even when the underlying source never answers (a stalled socket, an engine that went silent).
 * One listener per iterator, not per item. `return()` is passed on to the source.
 *
 * @example
 * ```ts
 * const chunks = abortableIterator(source[Symbol.asyncIterator](), controller.signal);
 * setTimeout(() => controller.abort(new Error("timed out")), 1000);
 * await chunks.next(); // rejects with "timed out" if nothing came in time
 * ```
 */
export function abortableIterator<T>(source: AsyncIterator<T>, signal: AbortSignal): AsyncIterator<T> {
  let reject: ((reason: unknown) => void) | undefined;
  const onAbort = () => {
    const pending = reject;
    reject = undefined;
    pending?.(signal.reason);
  };
  signal.addEventListener("abort", onAbort, { once: true });
  const settle =
    <A>(fn: (value: A) => void) =>
    (value: A) => {
      reject = undefined;
      fn(value);
    };
  return {
    next: () => {
      if (signal.aborted) return Promise.reject(signal.reason);
      return new Promise<IteratorResult<T>>((resolve, fail) => {
        reject = fail;
        source.next().then(settle(resolve), settle(fail));
      });
    },
    return: (value?: unknown) => {
      signal.removeEventListener("abort", onAbort);
      const done = { done: true, value } as IteratorResult<T>;
      return source.return === undefined
        ? Promise.resolve(done)
        : source.return(value).then(
            () => done,
            () => done,
          );
    },
  };
}
