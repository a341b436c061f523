import http from "node:http";
import https from "node:https";
import { StringDecoder } from "node:string_decoder";
import { urlToHttpOptions } from "node:url";
import type { RelayResponse, RelayStreamChunk } from "@pocket-ai/protocol";
import {
  type CancelToken,
  type LeanFlow,
  type LeanHttpPool,
  type LeanTarget,
  leanTarget,
} from "@pocket-ai/runtime";
import { TRPCClientError } from "@trpc/client";
import { type LinkFetch, makeNodeClient, type NodeClient, type NodeRouter } from "./node-contract.js";
import { RELAY_PATH, RELAY_STREAM_PATH } from "./node-relay-wire.js";

/** What a call takes: what aborts it (the HTTP request with it, so the node sees it go). */
export interface NodeRelayCallOptions {
  readonly signal?: AbortSignal | undefined;
  /** Aborts it as `signal` does, with no `AbortSignal` made per call (a relay's timer, its hedge). */
  readonly cancel?: CancelToken | undefined;
}

/**
 * A client for one node on the relay path: `relay` and `relayStream` as tRPC's client calls them
 * (same requests, same answers, failures as `TRPCClientError`s with the node's error envelope as
 * `data`), relays and streams on the lean client's pooled sockets when one is given (`http:`
 * nodes), else on pooled keep-alive `node:http` sockets, read without a Web stream per chunk;
 * `info` and `health` through the tRPC client.
 */
export interface NodeRelayClient {
  readonly relay: {
    readonly mutate: (input: unknown, options?: NodeRelayCallOptions) => Promise<RelayResponse>;
  };
  readonly relayStream: {
    readonly mutate: (
      input: unknown,
      options?: NodeRelayCallOptions,
    ) => Promise<AsyncIterable<RelayStreamChunk>>;
  };
  readonly settleCut: NodeClient["settleCut"];
  readonly info: NodeClient["info"];
  readonly health: NodeClient["health"];
}

/** Chunks held unread before the socket is paused (the node then waits to write more). */
const MAX_BUFFERED_CHUNKS = 64;
/**
 * Characters of chunk lines held unread before the socket is paused, however few the chunks: a
 * node's line may be as long as {@link MAX_NODE_ANSWER_CHARS}, and a stream whose reader waits on
 * a slow client would otherwise hold {@link MAX_BUFFERED_CHUNKS} of them. An honest chunk (a few
 * tokens, their log-probabilities) is a few kilobytes.
 */
const MAX_BUFFERED_CHARS = 1024 * 1024;
/**
 * The most characters read from a node for one answer, or for one line of a stream (a node is a
 * stranger: without a bound, an endless answer would grow the gateway's memory until the
 * deadline). Four pictures of 1024×1024 as base64 PNG fit many times over.
 */
export const MAX_NODE_ANSWER_CHARS = 64 * 1024 * 1024;

export function makeNodeRelayClient(
  endpoint: string,
  options: {
    readonly agent: http.Agent;
    /**
     * Pooled sockets for relays and streams to an `http:` node (see `makeLeanHttpPool`): without
     * it, and for `https:` nodes, they go through `agent`.
     */
    readonly lean?: LeanHttpPool;
    readonly fetch?: LinkFetch;
    /**
     * The most characters of one answer or stream line ({@link MAX_NODE_ANSWER_CHARS}); on the
     * lean client's path, bytes of the answer.
     */
    readonly maxAnswerChars?: number;
  },
): NodeRelayClient {
  const limit = options.maxAnswerChars ?? MAX_NODE_ANSWER_CHARS;
  const trpc = makeNodeClient(endpoint, options.fetch === undefined ? {} : { fetch: options.fetch });
  const base = endpoint.endsWith("/") ? endpoint.slice(0, -1) : endpoint;
  const relayUrl = new URL(`${base}/${RELAY_PATH}`);
  const streamUrl = new URL(`${base}/${RELAY_STREAM_PATH}?batch=1`);
  const transport = relayUrl.protocol === "https:" ? https : http;
  // Each URL's request options made once per client, not converted from the URL on every call.
  const relayTarget = urlToHttpOptions(relayUrl);
  const streamTarget = urlToHttpOptions(streamUrl);
  const post = (
    url: http.RequestOptions,
    body: string,
    headers: Record<string, string>,
    call: NodeRelayCallOptions,
    onResponse: (res: http.IncomingMessage) => void,
    onError: (error: unknown) => void,
  ) => {
    const { signal, cancel } = call;
    if (cancel?.reason !== undefined) return onError(cancel.reason);
    if (signal?.aborted === true) return onError(signal.reason);
    const request = transport.request(
      {
        ...url,
        method: "POST",
        agent: options.agent,
        headers: {
          "content-type": "application/json",
          "content-length": String(Buffer.byteLength(body)),
          ...headers,
        },
      },
      onResponse,
    );
    const onAbort = () =>
      request.destroy(
        cancel?.reason ??
          (signal?.reason instanceof Error ? signal.reason : new Error("the call was aborted")),
      );
    cancel?.watch(onAbort);
    signal?.addEventListener("abort", onAbort, { once: true });
    request.once("close", () => {
      cancel?.unwatch(onAbort);
      signal?.removeEventListener("abort", onAbort);
    });
    request.once("error", onError);
    request.end(body);
    return request;
  };

  const lean = options.lean;
  const leanRelay = lean === undefined ? undefined : leanTarget(relayUrl);
  const relayLean = (target: LeanTarget, pool: LeanHttpPool, input: unknown, call: NodeRelayCallOptions) =>
    pool
      .request(target, {
        method: "POST",
        body: JSON.stringify(input) ?? "",
        headers: { "content-type": "application/json" },
        signal: call.signal,
        cancel: call.cancel,
        maxBodyBytes: limit,
      })
      .then(
        ({ status, text }) => relayAnswer(text, status),
        (e: unknown) => {
          throw TRPCClientError.from(asError(e));
        },
      );

  const relay = (input: unknown, call: NodeRelayCallOptions = {}) =>
    leanRelay !== undefined && lean !== undefined
      ? relayLean(leanRelay, lean, input, call)
      : relayHttp(input, call);

  const relayHttp = (input: unknown, call: NodeRelayCallOptions = {}) =>
    new Promise<RelayResponse>((resolve, reject) => {
      const fail = (e: unknown) => reject(TRPCClientError.from(asError(e)));
      post(
        relayTarget,
        JSON.stringify(input) ?? "",
        {},
        call,
        (res) => {
          res.setEncoding("utf8");
          let text = "";
          res.on("data", (part: string) => {
            text += part;
            if (text.length > limit) res.destroy(tooLarge(limit));
          });
          res.once("error", fail);
          res.once("end", () => {
            try {
              resolve(relayAnswer(text, res.statusCode ?? 0));
            } catch (e) {
              reject(e);
            }
          });
        },
        fail,
      );
    });

  const leanStream = lean === undefined ? undefined : leanTarget(streamUrl);
  const relayStreamLean = (
    target: LeanTarget,
    pool: LeanHttpPool,
    input: unknown,
    call: NodeRelayCallOptions,
  ) =>
    new Promise<AsyncIterable<RelayStreamChunk>>((resolve, reject) => {
      const decoder = new StringDecoder("utf8");
      let status = 0;
      let flow: LeanFlow | undefined;
      let stream: ChunkStream | undefined;
      // A refusal's body (any status but 200), read whole.
      let refusal = "";
      pool
        .stream(
          target,
          {
            method: "POST",
            body: `{"0":${JSON.stringify(input) ?? "null"}}`,
            headers: { "content-type": "application/json", "trpc-accept": "application/jsonl" },
            signal: call.signal,
            cancel: call.cancel,
          },
          {
            head: (code, control) => {
              status = code;
              flow = control;
              if (code !== 200) return;
              stream = new ChunkStream(
                { pause: control.pause, resume: control.resume, destroy: () => control.close() },
                limit,
              );
              stream.opened.then(() => resolve(stream as ChunkStream), reject);
            },
            data: (part) => {
              const text = decoder.write(part);
              if (stream !== undefined) return stream.read(text);
              refusal += text;
              if (refusal.length > limit) flow?.close(tooLarge(limit));
            },
          },
        )
        .then(
          () => {
            if (stream !== undefined) return stream.ended();
            try {
              reject(envelopeError(parseJson(refusal + decoder.end()), status));
            } catch (e) {
              reject(e);
            }
          },
          (e: unknown) => {
            if (stream !== undefined) return stream.failed(e);
            reject(TRPCClientError.from(asError(e)));
          },
        );
    });

  const relayStream = (input: unknown, call: NodeRelayCallOptions = {}) =>
    leanStream !== undefined && lean !== undefined
      ? relayStreamLean(leanStream, lean, input, call)
      : relayStreamHttp(input, call);

  const relayStreamHttp = (input: unknown, call: NodeRelayCallOptions = {}) =>
    new Promise<AsyncIterable<RelayStreamChunk>>((resolve, reject) => {
      const fail = (e: unknown) => reject(TRPCClientError.from(asError(e)));
      const body = `{"0":${JSON.stringify(input) ?? "null"}}`;
      const request = post(
        streamTarget,
        body,
        { "trpc-accept": "application/jsonl" },
        call,
        (res) => {
          res.setEncoding("utf8");
          if (res.statusCode !== 200) {
            let text = "";
            res.on("data", (part: string) => {
              text += part;
              if (text.length > limit) res.destroy(tooLarge(limit));
            });
            res.once("end", () => reject(envelopeError(parseJson(text), res.statusCode ?? 0)));
            res.once("error", fail);
            return;
          }
          const stream = new ChunkStream(
            { pause: () => res.pause(), resume: () => res.resume(), destroy: () => request?.destroy() },
            limit,
          );
          res.on("data", (part: string) => stream.read(part));
          res.once("end", () => stream.ended());
          res.once("error", (e) => stream.failed(e));
          res.once("close", () => stream.failed(new Error("the node's stream was cut off")));
          stream.opened.then(() => resolve(stream), reject);
        },
        fail,
      );
    });

  return {
    relay: { mutate: relay },
    relayStream: { mutate: relayStream },
    settleCut: trpc.settleCut,
    info: trpc.info,
    health: trpc.health,
  };
}

/** The connection a {@link ChunkStream} reads from: paused while its chunks wait unread. */
interface ChunkSource {
  pause(): void;
  resume(): void;
  /** Closes the connection: the stream is over. */
  destroy(): void;
}

/**
 * The chunks of one streamed answer, read line by line as its text arrives (`read`): `opened`
 * settles once the lines that resolve the result to the chunk iterable arrived (or fails with the
 * refusal sent instead); then each chunk line is one item. Returning early closes the source.
 */
class ChunkStream implements AsyncIterable<RelayStreamChunk>, AsyncIterator<RelayStreamChunk> {
  readonly opened: Promise<void>;
  #open!: () => void;
  #refuse!: (error: unknown) => void;
  #streamId: number | undefined;
  #head = true;
  #partial = "";
  readonly #queue: RelayStreamChunk[] = [];
  /** The length of each queued chunk's line, and their sum. */
  readonly #sizes: number[] = [];
  #queuedChars = 0;
  #ended = false;
  #paused = false;
  #error: unknown;
  #waiter:
    | { resolve: (r: IteratorResult<RelayStreamChunk>) => void; reject: (e: unknown) => void }
    | undefined;
  readonly #source: ChunkSource;

  readonly #limit: number;

  constructor(source: ChunkSource, limit: number) {
    this.#limit = limit;
    this.#source = source;
    this.opened = new Promise<void>((resolve, reject) => {
      this.#open = resolve;
      this.#refuse = reject;
    });
    this.opened.catch(() => undefined);
  }

  /** The source's body ended: after the last line that is nothing; before it, a broken stream. */
  ended(): void {
    this.#fail(new Error("the node's stream ended without its last line"));
  }

  /** The source failed (or was cut off). */
  failed(error: unknown): void {
    this.#fail(error);
  }

  [Symbol.asyncIterator](): AsyncIterator<RelayStreamChunk> {
    return this;
  }

  next(): Promise<IteratorResult<RelayStreamChunk>> {
    const chunk = this.#queue.shift();
    if (chunk !== undefined) {
      this.#queuedChars -= this.#sizes.shift() ?? 0;
      if (
        this.#paused &&
        this.#queue.length < MAX_BUFFERED_CHUNKS / 2 &&
        this.#queuedChars < MAX_BUFFERED_CHARS / 2
      ) {
        this.#paused = false;
        this.#source.resume();
      }
      return Promise.resolve({ done: false, value: chunk });
    }
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<RelayStreamChunk>> {
    if (!this.#ended && this.#error === undefined) {
      this.#ended = true;
      this.#source.destroy();
    }
    this.#queue.length = 0;
    this.#sizes.length = 0;
    this.#queuedChars = 0;
    return Promise.resolve({ done: true, value: undefined });
  }

  /**
   * More of the body's text. Only the new part is searched for a line's end (the text held holds
   * none): a long line arrives in many parts, and searching all of it again for each would flatten
   * and scan it once per part, quadratic in its length.
   */
  read(part: string): void {
    if (this.#ended || this.#error !== undefined) return;
    let start = 0;
    let newline = part.indexOf("\n");
    while (newline !== -1) {
      const piece = part.slice(start, newline);
      const line = this.#partial === "" ? piece : this.#partial + piece;
      this.#partial = "";
      if (line !== "") this.#line(line);
      if (this.#ended || this.#error !== undefined) return;
      start = newline + 1;
      newline = part.indexOf("\n", start);
    }
    this.#partial = start === 0 ? this.#partial + part : part.slice(start);
    if (this.#partial.length > this.#limit) this.#fail(tooLarge(this.#limit));
  }

  #line(line: string): void {
    const parsed = parseJson(line);
    if (this.#head) {
      this.#head = false;
      if (!isObject(parsed)) this.#fail(invalid("its head is not an object"));
      return;
    }
    if (!Array.isArray(parsed) || typeof parsed[0] !== "number" || typeof parsed[1] !== "number") {
      this.#fail(invalid("a line is not [id, status, value]"));
      return;
    }
    const [id, status, payload] = parsed as [number, number, unknown];
    if (id === this.#streamId) {
      if (status === 1) {
        const value = Array.isArray(payload) && Array.isArray(payload[0]) ? payload[0][0] : undefined;
        if (payload === undefined || (payload as unknown[]).length !== 1 || value === undefined) {
          this.#fail(invalid("a chunk line is not [[chunk]]"));
          return;
        }
        this.#push(value as RelayStreamChunk, line.length);
        return;
      }
      if (status === 0) {
        this.#end();
        return;
      }
      this.#fail(envelopeError({ error: payload }, 200));
      return;
    }
    if (this.#streamId !== undefined) {
      this.#fail(invalid("a line names no open stream"));
      return;
    }
    // A line that resolves the result: on to the chunk iterable, or a refusal in its place.
    if (status !== 0) {
      this.#fail(envelopeError({ error: payload }, 200));
      return;
    }
    if (!Array.isArray(payload) || !Array.isArray(payload[0])) {
      this.#fail(invalid("a result line is malformed"));
      return;
    }
    const value: unknown = payload[0][0];
    const iterable = payload
      .slice(1)
      .find((ref) => Array.isArray(ref) && ref[1] === 1 && typeof ref[2] === "number");
    if (iterable !== undefined) {
      this.#streamId = (iterable as [unknown, number, number])[2];
      this.#open();
      return;
    }
    if (isObject(value) && "error" in value) {
      this.#fail(envelopeError(value, 200));
      return;
    }
    if (payload.length === 1) this.#fail(invalid("the answer holds no chunks"));
  }

  #push(chunk: RelayStreamChunk, chars: number): void {
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter.resolve({ done: false, value: chunk });
      return;
    }
    this.#queue.push(chunk);
    this.#sizes.push(chars);
    this.#queuedChars += chars;
    if (
      !this.#paused &&
      (this.#queue.length >= MAX_BUFFERED_CHUNKS || this.#queuedChars >= MAX_BUFFERED_CHARS)
    ) {
      this.#paused = true;
      this.#source.pause();
    }
  }

  #end(): void {
    if (this.#ended || this.#error !== undefined) return;
    this.#ended = true;
    if (this.#paused) {
      this.#paused = false;
      this.#source.resume();
    }
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.resolve({ done: true, value: undefined });
  }

  #fail(error: unknown): void {
    if (this.#ended || this.#error !== undefined) return;
    this.#error = error instanceof TRPCClientError ? error : TRPCClientError.from(asError(error));
    this.#refuse(this.#error);
    this.#source.destroy();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(this.#error);
  }
}

function tooLarge(limit: number): Error {
  return new Error(`the node's answer is longer than ${limit} characters`);
}

function invalid(what: string): Error {
  return new Error(`the node's stream is not in tRPC's format: ${what}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/** A `relay` answer's result, or its {@link envelopeError} when it holds none. */
function relayAnswer(text: string, status: number): RelayResponse {
  const parsed = parseJson(text);
  if (isObject(parsed) && isObject(parsed.result) && "data" in parsed.result)
    return parsed.result.data as RelayResponse;
  throw envelopeError(parsed, status);
}

/**
 * The client error for an answer that is not a result: the node's envelope when it sent one (as
 * tRPC's client reads it), else a plain transport failure naming the HTTP status.
 */
function envelopeError(parsed: unknown, status: number): TRPCClientError<NodeRouter> {
  if (
    isObject(parsed) &&
    isObject(parsed.error) &&
    typeof parsed.error.code === "number" &&
    typeof parsed.error.message === "string"
  )
    return TRPCClientError.from(parsed as never);
  return TRPCClientError.from(new Error(`the node answered HTTP ${status} without a tRPC result`));
}
