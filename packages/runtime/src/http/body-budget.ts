import type { IncomingMessage, ServerResponse } from "node:http";
import { enclosingBlock } from "./client-network.js";

/**
 * Why a budget refused a body: it is full; its sender's network already holds its share of it
 * (`share`), or the IPv6 /48 that network is in holds the share of a /48 (`share48`); or the body
 * alone is larger than its sender may ever hold at once (`neverFits`: its share, or the whole
 * budget for a body of no source), so that no retry can help.
 */
export type BodyRefusal = "full" | "share" | "share48" | "neverFits";

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
 * One source (a caller's network as `clientNetwork` reads it: an IPv4 address, an IPv6 /64)
 * holds at most `share` of it: many slow uploads from one stranger fill that stranger's share, not
 * the budget every other caller waits on. The /64s of one IPv6 /48 together hold at most `share48`
 * (default twice `share`): one holder of a /56 or a /48 (what many subscribers and servers are
 * given) would otherwise fill the whole budget with eight of its /64s, while callers in other /48s
 * are not counted with it. A body of no source (`undefined`: loopback, a proxy of the operator's
 * own) counts only against the whole.
 */
export class BodyBudget {
  #held = 0;
  /** Bytes held by each source, and by each IPv6 /48 of sources (keys of both kinds differ). */
  readonly #bySource = new Map<string, number>();
  readonly share: number;
  readonly share48: number;
  readonly #onRefused: ((why: BodyRefusal) => void) | undefined;

  constructor(
    readonly limit: number,
    options: {
      /** The most one source holds at once (default: the whole limit, no share). */
      readonly share?: number;
      /**
       * The most the sources of one IPv6 /48 hold at once together (default: twice `share`; never
       * below `share`, never above the limit). Room for two networks: a /48 is also where an
       * internet provider puts up to 256 of its subscribers' /56s.
       */
      readonly share48?: number;
      /** Told of each refusal, for a counter. */
      readonly onRefused?: (why: BodyRefusal) => void;
    } = {},
  ) {
    this.share = Math.min(limit, options.share ?? limit);
    this.share48 = Math.min(limit, Math.max(this.share, options.share48 ?? 2 * this.share));
    this.#onRefused = options.onRefused;
  }

  /**
   * A share of `limit` for one source: an eighth, never below one body of `largest` bytes (a
   * source must be able to send the largest body it is allowed), never above the limit.
   */
  static defaultShare(limit: number, largest: number): number {
    return Math.min(limit, Math.max(Math.floor(limit / 8), largest));
  }

  /**
   * The largest body `source` may ever send: its share (a /48's is never smaller), or the whole
   * limit for a body of no source. A larger one is refused `neverFits`, however empty the budget.
   */
  reach(source: string | undefined): number {
    return source === undefined ? this.limit : this.share;
  }

  /** Bytes taken now and not yet given back. */
  get held(): number {
    return this.#held;
  }

  /** Bytes `source` (or, by its key, an IPv6 /48 of sources) has taken and not yet given back. */
  heldBy(source: string): number {
    return this.#bySource.get(source) ?? 0;
  }

  /** Sources, and IPv6 /48s of sources, holding bytes now. */
  get sources(): number {
    return this.#bySource.size;
  }

  /**
   * Takes `bytes` for `source` if they fit its share, its /48's and the limit; why not (nothing
   * taken) when not. `body`: the bytes of the body these belong to so far, these included (default
   * `bytes`), to refuse at once a body that can never fit (`neverFits`).
   */
  take(bytes: number, source?: string, body: number = bytes): BodyRefusal | undefined {
    const block = source === undefined ? undefined : enclosingBlock(source);
    const mine = source === undefined ? 0 : (this.#bySource.get(source) ?? 0);
    const ours = block === undefined ? 0 : (this.#bySource.get(block) ?? 0);
    const why =
      body > this.reach(source)
        ? "neverFits"
        : this.#held + bytes > this.limit
          ? "full"
          : source !== undefined && mine + bytes > this.share
            ? "share"
            : block !== undefined && ours + bytes > this.share48
              ? "share48"
              : undefined;
    if (why !== undefined) return this.#refuse(why);
    this.#held += bytes;
    if (source !== undefined && bytes > 0) this.#bySource.set(source, mine + bytes);
    if (block !== undefined && bytes > 0) this.#bySource.set(block, ours + bytes);
    return undefined;
  }

  #refuse(why: BodyRefusal): BodyRefusal {
    this.#onRefused?.(why);
    return why;
  }

  /**
   * Why a body declared (`content-length`) at `declared` bytes can never be taken for `source`
   * (`neverFits`, counted as a refusal), or `undefined`: said before any of it is read.
   */
  refuseDeclared(declared: number, source: string | undefined): BodyRefusal | undefined {
    return declared > this.reach(source) ? this.#refuse("neverFits") : undefined;
  }

  /** Takes `bytes` if they fit; `false` (and nothing taken) when they do not. */
  tryTake(bytes: number, source?: string): boolean {
    return this.take(bytes, source) === undefined;
  }

  give(bytes: number, source?: string): void {
    this.#held = Math.max(0, this.#held - bytes);
    if (source === undefined) return;
    this.#release(source, bytes);
    const block = enclosingBlock(source);
    if (block !== undefined) this.#release(block, bytes);
  }

  #release(key: string, bytes: number): void {
    const left = (this.#bySource.get(key) ?? 0) - bytes;
    if (left > 0) this.#bySource.set(key, left);
    else this.#bySource.delete(key);
  }

  /**
   * Reads a request's body whole for `source`, each part taken as it arrives: what the request
   * declares (`content-length`) is never what is held, so a body that declares much and sends
   * little holds little, and one without a length (chunked) holds what it sent. The bytes stay
   * taken while the body is held, until the request is over (answered, or its connection gone).
   * A part past `cap`, or one that does not fit, ends the read (`tooLarge`, `refused`; a body
   * declared or sent larger than `source` may ever hold is refused `neverFits`): what was
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
    const declared = Number(req.headers["content-length"] ?? 0);
    const never = declared > cap ? undefined : this.refuseDeclared(declared, source);
    if (declared > cap || never !== undefined) {
      finished = true;
      res.setHeader("connection", "close");
      req.resume();
      done(never === undefined ? { kind: "tooLarge" } : { kind: "refused", why: never });
      return;
    }
    req.on("data", (part: Buffer) => {
      if (finished) return;
      size += part.length;
      if (size > cap) return stop({ kind: "tooLarge" });
      const why = this.take(part.length, source, size);
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
