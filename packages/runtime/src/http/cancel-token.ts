/**
 * Cancels one call from outside it, as an `AbortController` would, for the hot calls of the relay
 * path (gateway → node, node → engine): one small object and one callback, where a controller
 * builds an `AbortSignal` (an `EventTarget`) and the call adds and removes a listener on it, which
 * costs more CPU per relay than the timer that fires it. Where an API takes an `AbortSignal`
 * (fetch, tRPC, `node:http`'s callers), a signal is still the way.
 *
 * One call watches a token at a time (it sets its callback as it starts and clears it as it
 * ends); a token cancelled before any call watches it cancels the next one as it starts.
 *
 * @example
 * ```ts
 * const cancel = new CancelToken();
 * const timer = setTimeout(() => cancel.cancel(new Error("no answer in 5000 ms")), 5000);
 * await pool.request(target, { method: "GET", cancel, maxBodyBytes: 1024 });
 * clearTimeout(timer);
 * ```
 */
export class CancelToken {
  #reason: Error | undefined;
  #watcher: (() => void) | undefined;

  /** The reason it was cancelled with, or `undefined` while it is not. */
  get reason(): Error | undefined {
    return this.#reason;
  }

  /** Cancels the call watching it, now (the first reason stands; later cancels do nothing). */
  cancel(reason: Error): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    const watcher = this.#watcher;
    this.#watcher = undefined;
    watcher?.();
  }

  /** Calls `onCancel` once the token is cancelled (not if it already is: read `reason` first). */
  watch(onCancel: () => void): void {
    if (this.#watcher !== undefined && this.#watcher !== onCancel)
      throw new Error("a cancel token is watched by one call at a time");
    this.#watcher = onCancel;
  }

  /** Stops `onCancel` watching it (the call ended). */
  unwatch(onCancel: () => void): void {
    if (this.#watcher === onCancel) this.#watcher = undefined;
  }
}
