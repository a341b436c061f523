import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * The bytes of request bodies a process holds before it knows who sent them (a body is read
 * whole before its signature or key is checked), in all, across connections. A port anyone can
 * reach would otherwise let a stranger pin memory with bodies sent up to their last byte and left
 * there: each is bounded in size and in time (`serveHttp`'s `requestTimeoutMs`), not in number.
 * Past the limit a body is refused at once (503), never kept.
 */
export class BodyBudget {
  #held = 0;

  constructor(readonly limit: number) {}

  /** Bytes taken now and not yet given back. */
  get held(): number {
    return this.#held;
  }

  /** Takes `bytes` if they fit under the limit; `false` (and nothing taken) when they do not. */
  tryTake(bytes: number): boolean {
    if (this.#held + bytes > this.limit) return false;
    this.#held += bytes;
    return true;
  }

  give(bytes: number): void {
    this.#held = Math.max(0, this.#held - bytes);
  }

  /**
   * Takes the bytes a request may send before the handler reads it: its declared
   * `content-length`, or `cap` when it declares none (a chunked body), none for a request without
   * a body. They are given back once the request is over (read whole, answered, or its connection
   * gone): the handler's own size limit (`cap`) still refuses larger bodies. `false` when they do
   * not fit.
   */
  holdRequest(req: IncomingMessage, res: ServerResponse, cap: number): boolean {
    const declared = req.headers["content-length"];
    const chunked = req.headers["transfer-encoding"] !== undefined;
    const bytes = declared !== undefined ? Math.min(Number(declared) || 0, cap) : chunked ? cap : 0;
    if (bytes === 0) return true;
    if (!this.tryTake(bytes)) return false;
    let given = false;
    const giveBack = () => {
      if (given) return;
      given = true;
      this.give(bytes);
    };
    req.once("end", giveBack);
    req.once("close", giveBack);
    res.once("close", giveBack);
    return true;
  }
}
