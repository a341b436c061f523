import type { IncomingMessage, ServerResponse } from "node:http";
import type { BodyBudget } from "@pocket-ai/runtime";
import type { AnyRouter } from "@trpc/server";
import { TRPCError } from "@trpc/server";
import { Cause, type Effect, Exit, type Fiber, Runtime, Stream } from "effect";
import { bodiesBusyError } from "./body-budget-refusal.js";
import type { NodeRelayApi, RelayChunks } from "./node-contract.js";
import {
  chunkLine,
  formatError,
  JSON_HEADERS,
  RELAY_PATH,
  RELAY_STREAM_PATH,
  STREAM_END_LINE,
  STREAM_PRELUDE,
  streamErrorLine,
  streamRefusalLines,
} from "./node-relay-wire.js";
import { linkErrorOf } from "./run-procedure.js";

/** A request handler that answers the calls it knows (`true`) and leaves the rest to tRPC (`false`). */
export type NodeRelayHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * Serves the node's `relay` and `relayStream` procedures straight on `node:http`, in tRPC's wire
 * format (`node-relay-wire.ts`): what `makeNodeRouter` runs, with the same errors (the router's
 * formatter shapes them), the same abort (a caller that goes away aborts the relay) and the same
 * size limit. Calls in any other shape (a batch of several, another content type, a query string
 * it does not know) return `false` and go to the tRPC handler, which serves the whole router.
 */
export function makeNodeRelayHandler<R>(options: {
  readonly impl: NodeRelayApi<R>;
  /** The router built from `impl`: its error formatter shapes every error. */
  readonly router: AnyRouter;
  readonly runtime: Runtime.Runtime<R>;
  /** The base path the tRPC handler serves, with a trailing slash: `/trpc/`. */
  readonly basePath: string;
  readonly maxBodySize: number;
  /** The bytes of bodies read and not yet verified, shared with every other reader of the process. */
  readonly bodyBudget?: BodyBudget;
  /** Whose share of `bodyBudget` a request's body counts against (`undefined`: the whole budget). */
  readonly bodySource?: (req: IncomingMessage) => string | undefined;
}): NodeRelayHandler {
  const { impl, router, runtime, basePath, maxBodySize, bodyBudget, bodySource } = options;
  const relayUrl = `${basePath}${RELAY_PATH}`;
  const streamUrl = `${basePath}${RELAY_STREAM_PATH}?batch=1`;
  const run = Runtime.runPromiseExit(runtime);

  const fork = Runtime.runFork(runtime);

  // The relay runs as a fiber watched directly (no promise, no abort signal per call), or, where
  // the node serves it in callbacks (`relayNow`), with no fiber until an outcome needs one: a
  // caller that goes away before the answer is sent whole cancels the call or interrupts the fiber.
  const serveRelay = (req: IncomingMessage, res: ServerResponse) => {
    let fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined;
    let cancel: (() => void) | undefined;
    let gone = false;
    res.once("close", () => {
      if (res.writableFinished) return;
      gone = true;
      if (fiber !== undefined) fiber.unsafeInterruptAsFork(fiber.id());
      else cancel?.();
    });
    readBody(req, res, maxBodySize, bodyBudget, bodySource?.(req), (error, input) => {
      const answer = (status: number, body: string) => {
        if (res.destroyed) return;
        res.writeHead(status, { ...JSON_HEADERS, "content-length": Buffer.byteLength(body) });
        res.end(body);
      };
      const refuse = (e: unknown, inputSeen: unknown) => {
        const { status, shape } = formatError(router, e, RELAY_PATH, inputSeen);
        answer(status, JSON.stringify({ error: shape }));
      };
      const finish = (exit: Exit.Exit<unknown, unknown>) => {
        try {
          if (Exit.isSuccess(exit)) return answer(200, `{"result":{"data":${JSON.stringify(exit.value)}}}`);
          refuse(linkErrorOf(exit.cause, runtime as Runtime.Runtime<never>), input);
        } catch (e) {
          if (!res.headersSent) refuse(e, input);
        }
      };
      const run = (relay: Effect.Effect<unknown, unknown, R>) => {
        const running = fork(relay);
        fiber = running;
        if (gone) running.unsafeInterruptAsFork(running.id());
        running.addObserver(finish);
      };
      if (error !== undefined) return refuse(error, undefined);
      if (impl.relayNow === undefined) return run(impl.relay(input));
      let settled = false;
      cancel = impl.relayNow(input, (outcome) => {
        if (settled) return;
        settled = true;
        if (Exit.isExit(outcome)) finish(outcome);
        else run(outcome);
      });
      if (gone && !settled) cancel();
    });
  };

  const serveStream = (req: IncomingMessage, res: ServerResponse) => {
    const controller = abortOnClose(res);
    readBody(req, res, maxBodySize, bodyBudget, bodySource?.(req), (error, body) => {
      if (error !== undefined) {
        const { shape } = formatError(router, error, RELAY_STREAM_PATH, undefined);
        if (res.destroyed) return;
        res.writeHead(200, JSON_HEADERS);
        res.end(streamRefusalLines(shape));
        return;
      }
      const input =
        typeof body === "object" && body !== null ? (body as Record<string, unknown>)["0"] : undefined;
      const sent: PreludeSent = { prelude: false };
      const fail = (e: unknown) => {
        if (res.destroyed) return;
        if (!res.headersSent) res.writeHead(200, JSON_HEADERS);
        const { shape } = formatError(router, e, RELAY_STREAM_PATH, input);
        res.end((sent.prelude ? "" : STREAM_PRELUDE) + streamErrorLine(shape));
      };
      const opened = (exit: Exit.Exit<RelayChunks<R>, unknown>) => {
        if (Exit.isFailure(exit)) return fail(linkErrorOf(exit.cause, runtime as Runtime.Runtime<never>));
        if (res.destroyed) return closeChunks(exit.value, runtime);
        res.writeHead(200, JSON_HEADERS);
        // A chunk stream that breaks is an internal failure: an error id, logged (never its words).
        pipeChunks(exit.value, runtime, res, controller.signal, sent).catch((e: unknown) =>
          fail(controller.signal.aborted ? e : linkErrorOf(Cause.die(e), runtime as Runtime.Runtime<never>)),
        );
      };
      const open = (opening: Effect.Effect<RelayChunks<R>, unknown, R>) =>
        run(opening, { signal: controller.signal }).then(opened, fail);
      if (impl.relayStreamNow === undefined) return open(impl.relayStream(input, controller.signal));
      // An opening decided in callbacks is written in the step that decided it: no fiber, no promise.
      impl.relayStreamNow(input, controller.signal, (outcome) =>
        Exit.isExit(outcome) ? opened(outcome as Exit.Exit<RelayChunks<R>, unknown>) : open(outcome),
      );
    });
  };

  return (req, res) => {
    if (req.method !== "POST" || !isJson(req.headers["content-type"])) return false;
    if (req.url === relayUrl) {
      serveRelay(req, res);
      return true;
    }
    if (req.url === streamUrl && req.headers["trpc-accept"] === "application/jsonl") {
      serveStream(req, res);
      return true;
    }
    return false;
  };
}

function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/json\s*(;|$)/i.test(contentType);
}

/** An abort signal that fires when the caller goes away before the answer is sent whole. */
function abortOnClose(res: ServerResponse): AbortController {
  const controller = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) controller.abort(new Error("the caller went away"));
  });
  return controller;
}

/**
 * Reads the JSON body up to `limit` bytes. A larger body is refused without keeping it (the
 * connection is closed after the answer); a body that is not JSON is refused with a fixed message
 * (the parser's would quote the body). Its parts are taken from `budget` as they come and given
 * back once it is parsed or gone: a part that does not fit the budget, or `source`'s share of it,
 * is refused the same way (`NODE_BUSY`), as is a body larger than that share, declared or sent
 * (the gateway takes it to another node; the message says it never fits here).
 */
function readBody(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
  budget: BodyBudget | undefined,
  source: string | undefined,
  done: (error: TRPCError | undefined, body: unknown) => void,
): void {
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  const tooLarge = () =>
    new TRPCError({
      code: "PAYLOAD_TOO_LARGE",
      message: `the request body is larger than ${limit} bytes`,
    });
  const never = declared > limit ? undefined : budget?.refuseDeclared(declared, source);
  if (declared > limit || never !== undefined) {
    res.setHeader("connection", "close");
    req.resume();
    done(
      never === undefined ? tooLarge() : bodiesBusyError(budget as BodyBudget, "NODE_BUSY", never, source),
      undefined,
    );
    return;
  }
  const parts: Buffer[] = [];
  let size = 0;
  let finished = false;
  let taken = 0;
  const giveBack = () => {
    budget?.give(taken, source);
    taken = 0;
  };
  req.on("data", (part: Buffer) => {
    if (finished) return;
    size += part.length;
    const busy = size <= limit && budget !== undefined ? budget.take(part.length, source, size) : undefined;
    if (size > limit || busy !== undefined) {
      finished = true;
      res.setHeader("connection", "close");
      parts.length = 0;
      giveBack();
      done(
        busy !== undefined ? bodiesBusyError(budget as BodyBudget, "NODE_BUSY", busy, source) : tooLarge(),
        undefined,
      );
      return;
    }
    if (budget !== undefined) taken += part.length;
    parts.push(part);
  });
  req.once("end", () => {
    if (finished) return;
    finished = true;
    const text =
      parts.length === 1 ? (parts[0] as Buffer).toString("utf8") : Buffer.concat(parts).toString("utf8");
    giveBack();
    let body: unknown;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      return done(
        new TRPCError({ code: "BAD_REQUEST", message: "the request body is not valid JSON" }),
        undefined,
      );
    }
    done(undefined, body);
  });
  req.once("error", () => {
    finished = true;
  });
  if (budget !== undefined) req.once("close", giveBack);
}

function iteratorOf<R>(
  chunks: RelayChunks<R>,
  runtime: Runtime.Runtime<R>,
): AsyncIterator<unknown> | Iterator<unknown> {
  if (Stream.StreamTypeId in chunks)
    return Stream.toAsyncIterableRuntime(chunks as Stream.Stream<unknown, never, R>, runtime)[
      Symbol.asyncIterator
    ]();
  if (Symbol.asyncIterator in chunks) return (chunks as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  return (chunks as Iterable<unknown>)[Symbol.iterator]();
}

/** Ends chunks nobody will read (the caller left while the stream opened). */
function closeChunks<R>(chunks: RelayChunks<R>, runtime: Runtime.Runtime<R>): void {
  void Promise.resolve(iteratorOf(chunks, runtime).return?.()).catch(() => undefined);
}

/** Whether a stream's prelude line has been written (an error after it is written without one). */
interface PreludeSent {
  prelude: boolean;
}

/**
 * Writes each chunk as it comes. The first leaves at once, in one write with the response's head
 * and the prelude line (it is the time to first token: the caller reads one segment, not the head
 * and then the chunk); later chunks that come within one turn of the event loop leave in one
 * write (the response is corked until the turn ends): a reader slower than the engine gets them
 * coalesced. A full socket pauses the pulling until it drains; a caller that goes away ends the
 * chunks (which aborts the engine's request).
 */
async function pipeChunks<R>(
  chunks: RelayChunks<R>,
  runtime: Runtime.Runtime<R>,
  res: ServerResponse,
  signal: AbortSignal,
  sent: PreludeSent,
): Promise<void> {
  const iterator = iteratorOf(chunks, runtime);
  // The prelude goes with the first line written (a chunk, or the end of a stream with none).
  const lead = () => {
    if (sent.prelude) return "";
    sent.prelude = true;
    return STREAM_PRELUDE;
  };
  let corked = false;
  let first = true;
  const uncork = () => {
    corked = false;
    // `end` flushed the response itself; the socket may be serving the next response by now.
    if (!res.writableEnded) res.uncork();
  };
  try {
    while (!signal.aborted) {
      const next = await iterator.next();
      if (next.done === true || signal.aborted) break;
      if (first) first = false;
      else if (!corked) {
        corked = true;
        res.cork();
        setImmediate(uncork);
      }
      if (!res.write(lead() + chunkLine(JSON.stringify(next.value)))) await drained(res, signal);
    }
    if (!signal.aborted) {
      res.end(lead() + STREAM_END_LINE);
      return;
    }
  } finally {
    if (signal.aborted || !res.writableEnded)
      await Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}

function drained(res: ServerResponse, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    res.once("drain", done);
    signal.addEventListener("abort", done, { once: true });
  });
}
