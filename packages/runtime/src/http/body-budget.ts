import type { IncomingMessage, ServerResponse } from "node:http";

/** Why a budget refused a body: it is full, or its sender already holds its share of it. */
export type BodyRefusal = "full" | "share";

/** How {@link BodyBudget.readRequest} ends: the body whole, or why it was not kept. */
export type BodyRead =
  | { readonly kind: "read"; readonly body: Buffer }
  | { readonly kind: "refused"; readonly why: BodyRefusal }
  | { readonly kind: "tooLarge" };

/**
 * The bytes of request bodies a process holds before it knows who sent them (a body is read
 * whole before its signature or key is checked), in all, across connections. A port anyone can
 * reach would otherwise let a stranger pin memory with bodies sent up to their last byte and left
 * there: each is bounded in size and in time (`serveHttp`'s `requestTimeoutMs`), not in number.
 * Past the limit a body is refused at once (503), never kept.
 *
 * One source (a caller's network, as the server reads it) holds at most `share` of it: many slow
 * uploads from one stranger fill that stranger's share, not the budget every other caller waits
 * on. A body of no source (`undefined`: loopback, a proxy of the operator's own) counts only
 * against the whole.
 */
export class BodyBudget {
  #held = 0;
  readonly #bySource = new Map<string, number>();
  readonly share: number;
  readonly #onRefused: ((why: BodyRefusal) => void) | undefined;

  constructor(
    readonly limit: number,
    options: {
      /** The most one source holds at once (default: the whole limit, no share). */
      readonly share?: number;
      /** Told of each refusal, for a counter. */
      readonly onRefused?: (why: BodyRefusal) => void;
    } = {},
  ) {
    this.share = Math.min(limit, options.share ?? limit);
    this.#onRefused = options.onRefused;
  }

  /**
   * A share of `limit` for one source: an eighth, never below one body of `largest` bytes (a
   * source must be able to send the largest body it is allowed), never above the limit.
   */
  static defaultShare(limit: number, largest: number): number {
    return Math.min(limit, Math.max(Math.floor(limit / 8), largest));
  }

  /** Bytes taken now and not yet given back. */
  get held(): number {
    return this.#held;
  }

  /** Bytes `source` has taken and not yet given back. */
  heldBy(source: string): number {
    return this.#bySource.get(source) ?? 0;
  }

  /** Sources holding bytes now. */
  get sources(): number {
    return this.#bySource.size;
  }

  /** Takes `bytes` for `source` if they fit its share and the limit; why not (nothing taken) when not. */
  take(bytes: number, source?: string): BodyRefusal | undefined {
    const mine = source === undefined ? 0 : (this.#bySource.get(source) ?? 0);
    const why =
      this.#held + bytes > this.limit
        ? "full"
        : source !== undefined && mine + bytes > this.share
          ? "share"
          : undefined;
    if (why !== undefined) {
      this.#onRefused?.(why);
      return why;
    }
    this.#held += bytes;
    if (source !== undefined && bytes > 0) this.#bySource.set(source, mine + bytes);
    return undefined;
  }

  /** Takes `bytes` if they fit; `false` (and nothing taken) when they do not. */
  tryTake(bytes: number, source?: string): boolean {
    return this.take(bytes, source) === undefined;
  }

  give(bytes: number, source?: string): void {
    this.#held = Math.max(0, this.#held - bytes);
    if (source === undefined) return;
    const left = (this.#bySource.get(source) ?? 0) - bytes;
    if (left > 0) this.#bySource.set(source, left);
    else this.#bySource.delete(source);
  }

  /**
   * Reads a request's body whole for `source`, each part taken as it arrives: what the request
   * declares (`content-length`) is never what is held, so a body that declares much and sends
   * little holds little, and one without a length (chunked) holds what it sent. The bytes stay
   * taken while the body is held, until the request is over (answered, or its connection gone).
   * A part past `cap`, or one that does not fit, ends the read (`tooLarge`, `refused`): what was
   * taken is given back at once, the rest of the body is not kept, and the response is marked to
   * close its connection. Nothing is called when the connection goes before the body is whole.
   */
  readRequest(
    req: IncomingMessage,
    res: ServerResponse,
    cap: number,
    source: string | undefined,
    done: (read: BodyRead) => void,
  ): void {
    const parts: Buffer[] = [];
    let size = 0;
    let finished = false;
    let taken = 0;
    const giveBack = () => {
      this.give(taken, source);
      taken = 0;
    };
    const stop = (read: BodyRead) => {
      finished = true;
      parts.length = 0;
      giveBack();
      res.setHeader("connection", "close");
      done(read);
    };
    if (Number(req.headers["content-length"] ?? 0) > cap) {
      finished = true;
      res.setHeader("connection", "close");
      req.resume();
      done({ kind: "tooLarge" });
      return;
    }
    req.on("data", (part: Buffer) => {
      if (finished) return;
      size += part.length;
      if (size > cap) return stop({ kind: "tooLarge" });
      const why = this.take(part.length, source);
      if (why !== undefined) return stop({ kind: "refused", why });
      taken += part.length;
      parts.push(part);
    });
    req.once("end", () => {
      if (finished) return;
      finished = true;
      const body = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
      parts.length = 0;
      done({ kind: "read", body });
    });
    req.once("error", () => {
      finished = true;
    });
    // The response closes once it is sent or its connection is gone: the body is held no longer.
    res.once("close", giveBack);
  }
}
