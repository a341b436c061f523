import { setMaxListeners } from "node:events";
import type { ServerResponse } from "node:http";

/**
 * The gateway's open streams, for its shutdown: each stream listens to `signal`, and `cut()` aborts
 * it (every stream still open ends with a `STREAM_INTERRUPTED` error event and `[DONE]`), then
 * resolves once each of their responses has finished (its last bytes handed to the socket) or
 * closed, so that closing the connections afterwards loses none of those last words.
 */
export class StreamShutdown {
  readonly #controller = new AbortController();
  readonly #drain = new AbortController();
  readonly #open = new Set<Promise<void>>();

  constructor() {
    // Every open stream listens to the signals: no listener limit (Node warns above 10 by default).
    setMaxListeners(0, this.#controller.signal);
    setMaxListeners(0, this.#drain.signal);
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /**
   * Whether the gateway is shutting down (its drain began): a stream that breaks now, its node
   * stopping too (a local network stopped at once), ends for that reason as far as its client
   * can tell.
   */
  get draining(): boolean {
    return this.#drain.signal.aborted || this.#controller.signal.aborted;
  }

  /**
   * Aborts when the drain begins (or the streams are cut): for a stream's bookkeeping that waits
   * on its own after its client has gone, and must end before the database closes.
   */
  get drainSignal(): AbortSignal {
    return this.#drain.signal;
  }

  /** The drain began: the server takes no new requests. */
  begin(): void {
    this.#drain.abort();
  }

  /** Follows a stream's response until it has finished or closed. */
  track(res: ServerResponse): void {
    const ended = new Promise<void>((resolve) => {
      res.once("finish", resolve);
      res.once("close", resolve);
    });
    this.#open.add(ended);
    void ended.then(() => this.#open.delete(ended));
  }

  /** Ends every open stream; resolves when their responses have finished or closed. */
  cut(): Promise<void> {
    this.#drain.abort();
    this.#controller.abort();
    return Promise.all([...this.#open]).then(() => undefined);
  }
}
