import type { Gauge } from "@pocket-ai/runtime";

/**
 * How many uploads the gateway decodes at once, how many more may wait for a turn, and how many of
 * those (decoding and waiting together) one application may hold.
 */
export interface UploadDecodeLimits {
  readonly concurrency: number;
  readonly queue: number;
  readonly perApplication: number;
}

/** Why an upload was not given a place: the gateway's slots and queue are full, or the caller's share. */
export type UploadDecodesBusy = "gateway" | "application";

/**
 * The process-wide cap on image-edit uploads being decoded: a decode takes CPU whatever the
 * caller's key (a crafted mask is refused only at its last row, after about a second of work), so
 * the gateway decodes at most `concurrency` uploads at once, lets at most `queue` more wait for a
 * turn in arrival order, and refuses the rest at once (`UPLOADS_BUSY`, 503 with Retry-After)
 * rather than hold their bodies in memory for an unbounded wait. One application (all of its
 * keys) holds at most `perApplication` of those places, decoding and waiting together, so that one
 * customer filling the queue leaves room for the others' edits: past its share it is refused the
 * same way, whatever room is left.
 */
export class UploadDecodes {
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  /** Places (decoding or waiting) each application holds now; an application holding none is absent. */
  readonly #held = new Map<string, number>();

  constructor(
    readonly limits: UploadDecodeLimits,
    private readonly gauge?: Gauge,
  ) {
    this.#report();
  }

  /**
   * Runs `decode` for `application` in a free slot, now or once the uploads queued before it are
   * done; answers `busy` without running it when the application already holds its share, or when
   * the queue is full too. A caller that aborts while it waits leaves the queue.
   */
  async run<A>(
    application: string,
    decode: () => Promise<A>,
    signal?: AbortSignal,
  ): Promise<
    { readonly busy: false; readonly value: A } | { readonly busy: UploadDecodesBusy; readonly held: number }
  > {
    const held = this.#held.get(application) ?? 0;
    if (held >= this.limits.perApplication) return { busy: "application", held };
    const free = this.#active < this.limits.concurrency;
    if (!free && this.#waiting.length >= this.limits.queue) return { busy: "gateway", held };
    this.#held.set(application, held + 1);
    try {
      if (free) this.#active += 1;
      else await this.#turn(signal);
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
    } finally {
      const left = (this.#held.get(application) ?? 1) - 1;
      if (left > 0) this.#held.set(application, left);
      else this.#held.delete(application);
    }
  }

  /** Uploads being decoded, waiting for a slot, and the applications holding either. */
  get stats(): { readonly active: number; readonly waiting: number; readonly applications: number } {
    return { active: this.#active, waiting: this.#waiting.length, applications: this.#held.size };
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
