import type { RelayStreamChunk } from "@pocket-ai/protocol";
import { Effect } from "effect";

/** Relays being served; `idle()` resolves when none is. */
export class ServingCount {
  #size = 0;
  #waiting: Array<() => void> = [];

  get size(): number {
    return this.#size;
  }

  enter(): void {
    this.#size++;
  }

  leave(): void {
    this.#size--;
    if (this.#size > 0) return;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const resolve of waiting) resolve();
  }

  /** The effect, counted while it runs (its interruption's bookkeeping included). */
  around<A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return Effect.suspend(() => {
      this.enter();
      return Effect.ensuring(
        effect,
        Effect.sync(() => this.leave()),
      );
    });
  }

  idle(): Promise<void> {
    return this.#size === 0 ? Promise.resolve() : new Promise((resolve) => this.#waiting.push(resolve));
  }
}

/**
 * An opened stream's chunks. Ending it before the first read runs `abandon` (the generator's body,
 * and so its own cleanup, never ran); `ended` is called once, when the stream is over either way.
 */
export class OpenStream<T = RelayStreamChunk> implements AsyncIterableIterator<T> {
  #started = false;
  #ended = false;

  constructor(
    private readonly chunks: AsyncGenerator<T>,
    private readonly abandon: () => Promise<void>,
    private readonly ended: () => void,
  ) {}

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  async next(): Promise<IteratorResult<T>> {
    this.#started = true;
    try {
      const result = await this.chunks.next();
      if (result.done === true) this.#end();
      return result;
    } catch (e) {
      this.#end();
      throw e;
    }
  }

  async return(): Promise<IteratorResult<T>> {
    try {
      if (this.#started || this.#ended) return await this.chunks.return(undefined);
      this.#started = true;
      await this.chunks.return(undefined);
      await this.abandon();
      return { done: true, value: undefined };
    } finally {
      this.#end();
    }
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.ended();
  }
}
