import type { Gauge } from "@pocket-ai/runtime";

/** How many uploads the gateway decodes at once, and how many more may wait for a turn. */
export interface UploadDecodeLimits {
  readonly concurrency: number;
  readonly queue: number;
}

/**
 * The process-wide cap on image-edit uploads being decoded: a decode takes CPU whatever the
 * caller's key (a crafted mask is refused only at its last row, after about a second of work), so
 * the gateway decodes at most `concurrency` uploads at once, lets at most `queue` more wait for a
 * turn in arrival order, and refuses the rest at once (`UPLOADS_BUSY`, 503 with Retry-After)
 * rather than hold their bodies in memory for an unbounded wait.
 */
export class UploadDecodes {
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(
    readonly limits: UploadDecodeLimits,
    private readonly gauge?: Gauge,
  ) {
    this.#report();
  }

  /**
   * Runs `decode` in a free slot, now or once the uploads queued before it are done; answers
   * `busy` without running it when the queue is full too. A caller that aborts while it waits
   * leaves the queue.
   */
  async run<A>(
    decode: () => Promise<A>,
    signal?: AbortSignal,
  ): Promise<{ readonly busy: false; readonly value: A } | { readonly busy: true }> {
    if (this.#active >= this.limits.concurrency) {
      if (this.#waiting.length >= this.limits.queue) return { busy: true };
      await this.#turn(signal);
    } else this.#active += 1;
    this.#report();
    try {
      return { busy: false, value: await decode() };
    } finally {
      const next = this.#waiting.shift();
      // The slot passes to the next in line as it is; otherwise it is free.
      if (next !== undefined) next();
      else this.#active -= 1;
      this.#report();
    }
  }

  /** Uploads being decoded, and waiting for a slot. */
  get stats(): { readonly active: number; readonly waiting: number } {
    return { active: this.#active, waiting: this.#waiting.length };
  }

  #turn(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener("abort", leave);
        resolve();
      };
      const leave = () => {
        const at = this.#waiting.indexOf(wake);
        if (at >= 0) this.#waiting.splice(at, 1);
        this.#report();
        reject(signal?.reason);
      };
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener("abort", leave, { once: true });
      this.#waiting.push(wake);
      this.#report();
    });
  }

  #report(): void {
    this.gauge?.set({ state: "decoding" }, this.#active);
    this.gauge?.set({ state: "waiting" }, this.#waiting.length);
  }
}
