import net from "node:net";
import type { CancelToken } from "./cancel-token.js";

/**
 * A lean HTTP/1.1 client for the hot JSON exchanges of the relay path (gateway → node, node →
 * engine): one request per pooled keep-alive socket at a time, its head and body written in one
 * write, its answer read by a small parser (status line, `content-length` or `chunked` bodies).
 * `http.request` builds a `ClientRequest`, an `IncomingMessage` and their streams for every call,
 * which costs more CPU than the exchange itself on loopback; this costs a fraction of it.
 *
 * Plain `http:` only (callers keep `node:http`/`node:https` for TLS). The peer is a stranger: the
 * head is bounded ({@link MAX_HEAD_BYTES}), the body by the caller's `maxBodyBytes`, and anything
 * the parser does not understand fails the call and closes the socket, never reused.
 */

/** Largest response head read (status line and headers). */
export const MAX_HEAD_BYTES = 64 * 1024;
/** Idle sockets kept per origin beyond which a finished socket is closed. */
const MAX_IDLE_PER_ORIGIN = 1024;

/** The answer of one exchange: its status and its body as UTF-8 text. */
export interface LeanResponse {
  readonly status: number;
  readonly text: string;
}

/** Where an exchange goes, parsed once by {@link leanTarget}. */
export interface LeanTarget {
  readonly host: string;
  readonly port: number;
  /** Path and query, as written on the request line. */
  readonly path: string;
  /** `host:port` as the `Host` header carries it. */
  readonly hostHeader: string;
  readonly origin: string;
}

/**
 * The target of an `http:` URL; `undefined` for any other scheme (TLS stays on `node:https`) and
 * for a URL with credentials in it (`node:http` sends them as Basic authorization).
 */
export function leanTarget(url: string | URL): LeanTarget | undefined {
  const u = typeof url === "string" ? new URL(url) : url;
  if (u.protocol !== "http:" || u.username !== "" || u.password !== "") return undefined;
  const host = u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname;
  const port = u.port === "" ? 80 : Number(u.port);
  return { host, port, path: `${u.pathname}${u.search}`, hostHeader: u.host, origin: `${host}:${port}` };
}

/** A failure of the exchange itself (the peer's connection or its bytes), with a stable `code`. */
export class LeanHttpError extends Error {
  constructor(
    message: string,
    readonly code: "ECONNRESET" | "BAD_RESPONSE" | "RESPONSE_TOO_LARGE",
  ) {
    super(message);
    this.name = "LeanHttpError";
  }
}

export interface LeanRequest {
  readonly method: "GET" | "POST";
  /** The body (UTF-8), sent with `content-length`; omitted for none. */
  readonly body?: string | undefined;
  /** More headers (`content-type` is the caller's to set); names and values must be plain header text. */
  readonly headers?: Readonly<Record<string, string | number>> | undefined;
  /** Aborts the call (its reason fails it); a caller that creates a signal only for this passes `cancel`. */
  readonly signal?: AbortSignal | undefined;
  /** Aborts the call as `signal` does, without an `EventTarget` per call (see {@link CancelToken}). */
  readonly cancel?: CancelToken | undefined;
  /** The most bytes of body read before the call fails with `RESPONSE_TOO_LARGE`. */
  readonly maxBodyBytes: number;
  /**
   * For an answer whose status is not 2xx: the most bytes of its body kept. The rest is not read
   * (the socket is closed) and the call answers with the status and the body cut there, so an
   * error's message is kept without reading a large body whole.
   */
  readonly maxErrorBodyBytes?: number | undefined;
}

/** A streamed answer's socket, from its reader's side: backpressure, and giving up on it. */
export interface LeanFlow {
  pause(): void;
  resume(): void;
  /** Ends the exchange now (it fails with `reason`) and closes the socket. */
  close(reason?: Error): void;
}

/** Receives a streamed answer as it arrives (see {@link LeanHttpPool.stream}). */
export interface LeanBodySink {
  /** The status line and headers arrived (interim responses skipped); the body follows. */
  head(status: number, flow: LeanFlow): void;
  /** Bytes of the body, decoded from its transfer coding, in order. */
  data(part: Buffer): void;
}

/** Pooled keep-alive sockets by origin, and the exchanges on them. */
export interface LeanHttpPool {
  request(target: LeanTarget, request: LeanRequest): Promise<LeanResponse>;
  /**
   * An exchange whose answer is handed to `sink` as it arrives, with no bound on the body's
   * length (the caller bounds what it keeps): settles once the body is whole (the socket kept for
   * another call when it may be), fails on the same faults as {@link request} before or after the
   * head. Aborting `signal` (or cancelling `cancel`) ends it at any point, closing the socket.
   */
  stream(target: LeanTarget, request: Omit<LeanRequest, "maxBodyBytes">, sink: LeanBodySink): Promise<void>;
  /** Closes every socket, idle or busy (a busy call fails). */
  close(): void;
}

const HEADER_TEXT = /^[^\r\n]*$/;

/** A header's comma-separated tokens, lowercased and trimmed. */
const tokensOf = (value: string) =>
  value
    .toLowerCase()
    .split(",")
    .map((token) => token.trim());

function head(target: LeanTarget, request: Omit<LeanRequest, "maxBodyBytes">, bodyBytes: number): string {
  let text = `${request.method} ${target.path} HTTP/1.1\r\nhost: ${target.hostHeader}\r\nconnection: keep-alive\r\n`;
  if (request.body !== undefined) text += `content-length: ${bodyBytes}\r\n`;
  for (const name in request.headers) {
    const value = String(request.headers[name]);
    if (!HEADER_TEXT.test(name) || !HEADER_TEXT.test(value)) throw new TypeError(`invalid header ${name}`);
    text += `${name}: ${value}\r\n`;
  }
  return `${text}\r\n`;
}

type Abortable = Pick<LeanRequest, "signal" | "cancel">;

/** Why the call was aborted (its token's reason, or its signal's), or `undefined` while it is not. */
function abortedWith(request: Abortable): Error | undefined {
  if (request.cancel?.reason !== undefined) return request.cancel.reason;
  const signal = request.signal;
  if (signal?.aborted !== true) return undefined;
  return signal.reason instanceof Error ? signal.reason : new Error("the call was aborted");
}

/** Calls `onAbort` once the call is aborted, until {@link unwatchAbort}. */
function watchAbort(request: Abortable, onAbort: () => void): void {
  request.cancel?.watch(onAbort);
  request.signal?.addEventListener("abort", onAbort, { once: true });
}

function unwatchAbort(request: Abortable, onAbort: () => void): void {
  request.cancel?.unwatch(onAbort);
  request.signal?.removeEventListener("abort", onAbort);
}

/** An error answer's body reached its cut (`maxErrorBodyBytes`): the call answers with what came. */
class CutShort {
  constructor(readonly response: LeanResponse) {}
}

/**
 * Reads one response from the bytes it is given: `push` returns the response once it is whole (and
 * whether the socket may carry another), throws a {@link LeanHttpError} on bytes it cannot accept.
 */
class ResponseReader {
  #buffered: Buffer | undefined;
  #status = 0;
  #headDone = false;
  #close = false;
  /** Bytes of body still expected (content-length), or -1 while reading chunks, or -2 to the end. */
  #remaining = 0;
  #chunkLeft = -1;
  #trailers = false;
  readonly #body: Buffer[] = [];
  #bodyBytes = 0;
  /** Where an error answer's body is cut (see `LeanRequest.maxErrorBodyBytes`), once its head came. */
  #cutAt: number | undefined;

  /**
   * @param sink receives the head and the body's bytes as they arrive (a streamed answer, not
   * kept: its text is empty); without it, the body is kept whole, at most `maxBodyBytes`.
   */
  constructor(
    private readonly maxBodyBytes: number,
    private readonly sink?: { head(status: number): void; data(part: Buffer): void },
    private readonly maxErrorBodyBytes?: number,
  ) {}

  /** Whether some byte of a response has arrived. */
  get started(): boolean {
    return this.#buffered !== undefined || this.#headDone;
  }

  /** The bytes arrived; a response when it is complete, with whether the socket stays usable. */
  push(data: Buffer): { response: LeanResponse; reusable: boolean } | undefined {
    let buf = this.#buffered === undefined ? data : Buffer.concat([this.#buffered, data]);
    this.#buffered = undefined;
    while (!this.#headDone) {
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) {
        if (buf.length > MAX_HEAD_BYTES)
          throw new LeanHttpError("the response head is too large", "BAD_RESPONSE");
        this.#buffered = buf;
        return undefined;
      }
      if (end > MAX_HEAD_BYTES) throw new LeanHttpError("the response head is too large", "BAD_RESPONSE");
      const interim = this.#readHead(buf.toString("latin1", 0, end));
      buf = buf.subarray(end + 4);
      if (!interim) {
        this.#headDone = true;
        this.sink?.head(this.#status);
      }
    }
    return this.#readBody(buf);
  }

  /** The socket ended: a body read to the end is complete then; anything else was cut off. */
  end(): LeanResponse | undefined {
    if (this.#headDone && this.#remaining === -2) return this.#response();
    return undefined;
  }

  /** Returns true for an interim (1xx) response, which is skipped. */
  #readHead(text: string): boolean {
    const lines = text.split("\r\n");
    const status = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: |$)/.exec(lines[0] ?? "");
    if (status === null) throw new LeanHttpError("the response has no HTTP/1.x status line", "BAD_RESPONSE");
    const code = Number(status[2]);
    if (code >= 100 && code < 200) return code !== 101 ? true : this.#refuse("switching protocols");
    this.#status = code;
    this.#close = status[1] === "0";
    if (this.sink === undefined && this.maxErrorBodyBytes !== undefined && (code < 200 || code > 299))
      this.#cutAt = Math.min(this.maxErrorBodyBytes, this.maxBodyBytes);
    let length: number | undefined;
    let chunked = false;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(":");
      if (colon <= 0) return this.#refuse("a header line is malformed");
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === "content-length") {
        if (!/^\d{1,15}$/.test(value)) return this.#refuse("content-length is not a number");
        const n = Number(value);
        if (length !== undefined && length !== n) return this.#refuse("content-length is given twice");
        length = n;
      } else if (name === "transfer-encoding") {
        const codings = tokensOf(value);
        if (codings.length !== 1 || codings[0] !== "chunked")
          return this.#refuse(`transfer-encoding ${value} is not read`);
        chunked = true;
      } else if (name === "connection") {
        if (tokensOf(value).includes("close")) this.#close = true;
      }
    }
    if (chunked && length !== undefined) return this.#refuse("both content-length and chunked");
    if (code === 204 || code === 304) this.#remaining = 0;
    else if (chunked) this.#remaining = -1;
    else if (length !== undefined) {
      if (length > this.maxBodyBytes && this.#cutAt === undefined) this.#tooLarge();
      this.#remaining = length;
    } else {
      this.#remaining = -2;
      this.#close = true;
    }
    return false;
  }

  #readBody(buf: Buffer): { response: LeanResponse; reusable: boolean } | undefined {
    if (this.#remaining >= 0) {
      const take = Math.min(this.#remaining, buf.length);
      if (take > 0) this.#add(buf.subarray(0, take));
      this.#remaining -= take;
      if (this.#remaining > 0) return undefined;
      // Bytes past the response on a connection with one call at a time: not a peer to reuse.
      return { response: this.#response(), reusable: !this.#close && buf.length === take };
    }
    if (this.#remaining === -2) {
      if (buf.length > 0) this.#add(buf);
      return undefined;
    }
    return this.#readChunks(buf);
  }

  #readChunks(buf: Buffer): { response: LeanResponse; reusable: boolean } | undefined {
    let at = 0;
    while (at < buf.length) {
      if (this.#chunkLeft > 0) {
        const take = Math.min(this.#chunkLeft, buf.length - at);
        this.#add(buf.subarray(at, at + take));
        at += take;
        this.#chunkLeft -= take;
        if (this.#chunkLeft === 0) this.#chunkLeft = -3; // its CRLF next
        continue;
      }
      const eol = buf.indexOf("\r\n", at);
      if (eol < 0) {
        if (buf.length - at > 4096) return this.#refuse("a chunk line is too long");
        this.#buffered = buf.subarray(at);
        return undefined;
      }
      const line = buf.toString("latin1", at, eol);
      at = eol + 2;
      if (this.#chunkLeft === -3) {
        if (line !== "") return this.#refuse("a chunk does not end with CRLF");
        this.#chunkLeft = -1;
        continue;
      }
      if (this.#trailers) {
        if (line !== "") continue;
        return { response: this.#response(), reusable: !this.#close && at === buf.length };
      }
      const size = /^([0-9a-fA-F]{1,8})(?:[ \t]*;.*)?$/.exec(line);
      if (size === null) return this.#refuse("a chunk size is malformed");
      const n = Number.parseInt(size[1] as string, 16);
      if (n === 0) this.#trailers = true;
      else {
        if (this.#bodyBytes + n > this.maxBodyBytes && this.#cutAt === undefined) this.#tooLarge();
        this.#chunkLeft = n;
      }
    }
    return undefined;
  }

  #add(part: Buffer): void {
    if (this.sink !== undefined) {
      this.sink.data(part);
      return;
    }
    if (this.#cutAt !== undefined && this.#bodyBytes + part.length > this.#cutAt) {
      this.#body.push(part.subarray(0, this.#cutAt - this.#bodyBytes));
      this.#bodyBytes = this.#cutAt;
      throw new CutShort(this.#response());
    }
    this.#bodyBytes += part.length;
    if (this.#bodyBytes > this.maxBodyBytes) this.#tooLarge();
    this.#body.push(part);
  }

  #response(): LeanResponse {
    const text =
      this.#body.length === 1
        ? (this.#body[0] as Buffer).toString("utf8")
        : Buffer.concat(this.#body).toString("utf8");
    return { status: this.#status, text };
  }

  #tooLarge(): never {
    throw new LeanHttpError(`the response body is over ${this.maxBodyBytes} bytes`, "RESPONSE_TOO_LARGE");
  }

  #refuse(why: string): never {
    throw new LeanHttpError(`the response is not HTTP/1.1 this client reads: ${why}`, "BAD_RESPONSE");
  }
}

/**
 * A pool of keep-alive sockets per origin. An idle socket is closed after `idleMs` (shorter than
 * the servers' keep-alive timeouts, so a server rarely closes one as it is reused); a call whose
 * reused socket turns out closed before any byte of its answer is sent again once, on a new
 * socket (the server never read it: a relay is refused as a replay anyway if it had).
 */
export function makeLeanHttpPool(options: {
  readonly idleMs: number;
  /** Sockets open to one origin at most; calls beyond them wait for one (default 4,096). */
  readonly maxSockets?: number;
  /**
   * Resolves a host name as each socket opens (`net.connect`'s; default the system's): a caller
   * that must not reach some addresses refuses them here (see `publicAddressLookup`).
   */
  readonly lookup?: net.LookupFunction | undefined;
}): LeanHttpPool {
  const maxSockets = options.maxSockets ?? 4096;
  const idle = new Map<string, net.Socket[]>();
  /** Sockets open per origin, idle or busy. */
  const counts = new Map<string, number>();
  /** Calls waiting for a socket of their origin, oldest first. */
  const waiting = new Map<string, (() => void)[]>();
  const all = new Set<net.Socket>();
  let closed = false;

  /** A socket of `origin` came free or closed: the oldest waiting call goes on. */
  const wake = (origin: string) => {
    const queue = waiting.get(origin);
    const next = queue?.shift();
    if (queue !== undefined && queue.length === 0) waiting.delete(origin);
    next?.();
  };

  const release = (origin: string, socket: net.Socket) => {
    const list = idle.get(origin) ?? [];
    if (closed || list.length >= MAX_IDLE_PER_ORIGIN || socket.destroyed) {
      socket.destroy();
      return;
    }
    socket.setTimeout(options.idleMs);
    socket.unref();
    list.push(socket);
    idle.set(origin, list);
    wake(origin);
  };

  const take = (origin: string): net.Socket | undefined => {
    const list = idle.get(origin);
    while (list !== undefined && list.length > 0) {
      const socket = list.pop() as net.Socket;
      if (!socket.destroyed && socket.readyState === "open") {
        socket.setTimeout(0);
        socket.ref();
        return socket;
      }
    }
    return undefined;
  };

  const open = (target: LeanTarget): net.Socket => {
    const socket = net.connect({ host: target.host, port: target.port, lookup: options.lookup });
    socket.setNoDelay(true);
    all.add(socket);
    counts.set(target.origin, (counts.get(target.origin) ?? 0) + 1);
    // An idle socket the server closes, or one idle too long, leaves the pool at once.
    const drop = () => {
      all.delete(socket);
      const left = (counts.get(target.origin) ?? 1) - 1;
      if (left > 0) counts.set(target.origin, left);
      else counts.delete(target.origin);
      const list = idle.get(target.origin);
      const at = list?.indexOf(socket) ?? -1;
      if (list !== undefined && at >= 0) list.splice(at, 1);
      if (!closed) wake(target.origin);
    };
    socket.once("close", drop);
    socket.on("timeout", () => socket.destroy());
    return socket;
  };

  const exchange = (
    target: LeanTarget,
    request: LeanRequest,
    payload: string,
    socket: net.Socket,
    reused: boolean,
    sink?: LeanBodySink,
  ): Promise<LeanResponse> =>
    new Promise<LeanResponse>((resolve, reject) => {
      const reader = new ResponseReader(
        request.maxBodyBytes,
        sink === undefined
          ? undefined
          : {
              head: (status) =>
                sink.head(status, {
                  pause: () => socket.pause(),
                  resume: () => socket.resume(),
                  close: (reason) => fail(reason ?? new Error("the stream was closed by its reader")),
                }),
              data: (part) => sink.data(part),
            },
        request.maxErrorBodyBytes,
      );
      let done = false;
      // Sent again, once, on a new socket: only for a kept one found closed before any answer.
      const again = () =>
        closed
          ? Promise.reject(new LeanHttpError("the client is closed", "ECONNRESET"))
          : exchange(target, request, payload, open(target), false, sink);
      const finish = () => {
        done = true;
        socket.off("data", onData);
        socket.off("error", onError);
        socket.off("close", onClose);
        socket.off("end", onEnd);
        unwatchAbort(request, onAbort);
      };
      const fail = (error: unknown) => {
        if (done) return;
        finish();
        socket.destroy();
        reject(error);
      };
      const onData = (data: Buffer) => {
        if (done) return;
        let whole: ReturnType<ResponseReader["push"]>;
        try {
          whole = reader.push(data);
        } catch (e) {
          if (!(e instanceof CutShort)) return fail(e);
          // The rest of the body is not read: the socket, mid-answer, is not reused.
          finish();
          socket.destroy();
          resolve(e.response);
          return;
        }
        if (whole === undefined) return;
        finish();
        // A streamed answer's reader may have paused the socket: the next call needs it flowing.
        if (sink !== undefined) socket.resume();
        if (whole.reusable) release(target.origin, socket);
        else socket.destroy();
        resolve(whole.response);
      };
      const onEnd = () => {
        if (done) return;
        const response = reader.end();
        if (response === undefined) return; // 'close' follows and fails the call
        finish();
        socket.destroy();
        resolve(response);
      };
      const onError = (error: Error) => {
        if (done) return;
        if (reused && !reader.started) {
          // A kept socket the server had closed: the request never reached it.
          finish();
          socket.destroy();
          again().then(resolve, reject);
          return;
        }
        fail(error);
      };
      const onClose = () => {
        if (done) return;
        if (reused && !reader.started) {
          finish();
          again().then(resolve, reject);
          return;
        }
        fail(new LeanHttpError("the connection closed before the answer was whole", "ECONNRESET"));
      };
      const onAbort = () => fail(abortedWith(request) ?? new Error("the call was aborted"));
      socket.on("data", onData);
      socket.once("error", onError);
      socket.once("close", onClose);
      socket.once("end", onEnd);
      if (abortedWith(request) !== undefined) return onAbort();
      try {
        watchAbort(request, onAbort);
      } catch (e) {
        // A token another call watches: this call fails, its socket closed, not left busy.
        return fail(e);
      }
      socket.write(payload);
    });

  /** The call on a kept socket, a new one while under `maxSockets`, else once one comes free. */
  const start = (
    target: LeanTarget,
    request: LeanRequest,
    payload: string,
    sink?: LeanBodySink,
  ): Promise<LeanResponse> => {
    if (closed) return Promise.reject(new LeanHttpError("the client is closed", "ECONNRESET"));
    const kept = take(target.origin);
    if (kept !== undefined) return exchange(target, request, payload, kept, true, sink);
    if ((counts.get(target.origin) ?? 0) < maxSockets)
      return exchange(target, request, payload, open(target), false, sink);
    return new Promise<LeanResponse>((resolve, reject) => {
      const onAbort = () => {
        const queue = waiting.get(target.origin);
        const at = queue?.indexOf(go) ?? -1;
        if (queue !== undefined && at >= 0) queue.splice(at, 1);
        reject(abortedWith(request) ?? new Error("the call was aborted"));
      };
      const go = () => {
        unwatchAbort(request, onAbort);
        start(target, request, payload, sink).then(resolve, reject);
      };
      if (abortedWith(request) !== undefined) return onAbort();
      watchAbort(request, onAbort);
      const queue = waiting.get(target.origin) ?? [];
      queue.push(go);
      waiting.set(target.origin, queue);
    });
  };

  const payloadOf = (target: LeanTarget, request: Omit<LeanRequest, "maxBodyBytes">): string => {
    const bodyBytes = request.body === undefined ? 0 : Buffer.byteLength(request.body);
    return head(target, request, bodyBytes) + (request.body ?? "");
  };

  return {
    request(target, request) {
      let payload: string;
      try {
        payload = payloadOf(target, request);
      } catch (e) {
        return Promise.reject(e);
      }
      return start(target, request, payload);
    },
    stream(target, request, sink) {
      let payload: string;
      try {
        payload = payloadOf(target, request);
      } catch (e) {
        return Promise.reject(e);
      }
      return start(target, { ...request, maxBodyBytes: Number.POSITIVE_INFINITY }, payload, sink).then(
        () => undefined,
      );
    },
    close() {
      closed = true;
      const queued = [...waiting.values()].flat();
      waiting.clear();
      for (const socket of all) socket.destroy();
      all.clear();
      idle.clear();
      counts.clear();
      // Each waiting call goes on, and fails: the client is closed.
      for (const go of queued) go();
    },
  };
}

/** A streamed answer opened by {@link openLeanText}: its status, and its body's text as it arrives. */
export interface LeanTextStream {
  readonly status: number;
  /**
   * The body as UTF-8 text, part by part. Ends when the body is whole; throws what failed the
   * exchange (the signal's reason after an abort). Returning early closes the socket.
   */
  readonly parts: AsyncIterableIterator<string> & ReadyParts;
}

/** Parts already received, taken without waiting (a reader folding what arrived together). */
export interface ReadyParts {
  /** The next part already received, or `undefined` when none is (never waits, never throws). */
  nextReady(): string | undefined;
}

/** Parts held unread before the socket is paused (the peer then waits to write more). */
const MAX_UNREAD_PARTS = 64;

/**
 * Opens a streamed exchange on `pool` and settles once its head arrived: a plain async iterator
 * over the body's text, the socket paused while {@link MAX_UNREAD_PARTS} parts wait unread (no
 * Node stream, no promise per part the reader does not wait on). Fails like
 * {@link LeanHttpPool.stream} before the head.
 */
export function openLeanText(
  pool: LeanHttpPool,
  target: LeanTarget,
  request: Omit<LeanRequest, "maxBodyBytes">,
): Promise<LeanTextStream> {
  const parts = new TextParts();
  return new Promise<LeanTextStream>((resolve, reject) => {
    let opened = false;
    pool
      .stream(target, request, {
        head: (status, flow) => {
          opened = true;
          parts.flow = flow;
          resolve({ status, parts });
        },
        data: (part) => parts.push(part),
      })
      .then(
        () => parts.end(),
        (error: unknown) => {
          if (opened) parts.fail(error);
          else reject(error);
        },
      );
  });
}

/** The queue between a streamed exchange and its reader (see {@link openLeanText}). */
class TextParts implements AsyncIterableIterator<string>, ReadyParts {
  flow: LeanFlow | undefined;
  readonly #decoder = new TextDecoder("utf-8");
  readonly #queue: string[] = [];
  #paused = false;
  #done = false;
  #error: unknown;
  #failed = false;
  #waiter: { resolve: (r: IteratorResult<string>) => void; reject: (e: unknown) => void } | undefined;

  [Symbol.asyncIterator](): AsyncIterableIterator<string> {
    return this;
  }

  push(bytes: Buffer): void {
    const text = this.#decoder.decode(bytes, { stream: true });
    if (text === "" || this.#done) return;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter.resolve({ done: false, value: text });
      return;
    }
    this.#queue.push(text);
    if (!this.#paused && this.#queue.length >= MAX_UNREAD_PARTS) {
      this.#paused = true;
      this.flow?.pause();
    }
  }

  end(): void {
    const rest = this.#decoder.decode();
    if (rest !== "") this.#queue.push(rest);
    this.#settle();
  }

  fail(error: unknown): void {
    if (this.#done) return;
    this.#failed = true;
    this.#error = error;
    this.#settle();
  }

  #settle(): void {
    if (this.#done) return;
    this.#done = true;
    const waiter = this.#waiter;
    if (waiter === undefined || this.#queue.length > 0) return;
    this.#waiter = undefined;
    if (this.#failed) waiter.reject(this.#error);
    else waiter.resolve({ done: true, value: undefined });
  }

  nextReady(): string | undefined {
    const text = this.#queue.shift();
    if (text !== undefined && this.#paused && this.#queue.length < MAX_UNREAD_PARTS / 2) {
      this.#paused = false;
      this.flow?.resume();
    }
    return text;
  }

  next(): Promise<IteratorResult<string>> {
    const text = this.nextReady();
    if (text !== undefined) return Promise.resolve({ done: false, value: text });
    if (this.#done)
      return this.#failed ? Promise.reject(this.#error) : Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<string>> {
    if (!this.#done) {
      this.#done = true;
      this.flow?.close();
    }
    this.#queue.length = 0;
    return Promise.resolve({ done: true, value: undefined });
  }
}
