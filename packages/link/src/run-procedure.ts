import { randomBytes } from "node:crypto";
import { ErrorCodes } from "@pocket-ai/protocol";
import { TRPCError } from "@trpc/server";
import { Cause, Effect, Exit, Option, Runtime, Stream } from "effect";
import { trpcCodeOf } from "./error-status.js";
import { codeOfFailure } from "./pocket-code.js";
import type { LinkContext } from "./trpc.js";

/**
 * What a caller and the serving app's log share of an internal failure: an id, never the failure's
 * message (it may name files, hosts or a caller's data). The log also gets the failure's name and
 * the first frame of its stack, as a function and a file's name and line (never its folders).
 */
export class InternalFailure extends Error {
  constructor(
    readonly errorId: string,
    readonly failureName: string,
    readonly at: string | undefined,
  ) {
    super(
      `An unexpected error happened (error id ${errorId}). Retry; report it with that id if it persists.`,
    );
    this.name = "InternalFailure";
  }
}

/** An internal failure (what was thrown, or a squashed cause) under a fresh error id. */
export function internalFailureOf(failure: unknown): InternalFailure {
  // Effect's `UnknownException` (a `try` without a `catch`) wraps what was thrown: name that.
  const thrown =
    failure instanceof Cause.UnknownException && failure.error instanceof Error ? failure.error : failure;
  const name =
    typeof thrown === "object" && thrown !== null && "_tag" in thrown && typeof thrown._tag === "string"
      ? thrown._tag
      : thrown instanceof Error
        ? thrown.name
        : typeof thrown;
  const stack = thrown instanceof Error ? (thrown.stack ?? "") : "";
  // The first frame of the app's own code, past the libraries it went through.
  const frames = stack
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.startsWith("at "));
  const at = frames.find((line) => !line.includes("node_modules")) ?? frames[0];
  return new InternalFailure(
    randomBytes(6).toString("hex"),
    name,
    at === undefined ? undefined : frameOf(at),
  );
}

/**
 * A stack frame without the folders of its file: `at run (/srv/app/src/db/x.ts:79:12)` is
 * `run (x.ts:79:12)`. Where the app is installed, and who runs it, is no log reader's business.
 */
export function frameOf(line: string): string {
  const frame = line.replace(/^at\s+/, "");
  const named = /^(.*?) \((.+):(\d+)(?::\d+)?\)$/.exec(frame);
  const bare = named === null ? /^(.+):(\d+)(?::\d+)?$/.exec(frame) : null;
  const [fn, file, lineNo] =
    named !== null ? [named[1], named[2], named[3]] : bare !== null ? [undefined, bare[1], bare[2]] : [];
  // No file in it (`async Promise.all (index 0)`): nothing to take out.
  if (file === undefined) return frame;
  const base = file.split(/[/\\]/).at(-1) ?? file;
  return fn === undefined ? `${base}:${lineNo}` : `${fn} (${base}:${lineNo})`;
}

/**
 * The tRPC error for a procedure's failure. A failure that carries a protocol code becomes a
 * `TRPCError` with the code's HTTP meaning and the failure as its `cause` (the formatter reads
 * `pocketCode` and `detail` from it); anything else — internal errors, defects — is an
 * INTERNAL_SERVER_ERROR that leaks nothing but an error id, logged (with `runtime`'s logger, when
 * given) under the same id so an operator can find it. An interruption (the caller went away) is
 * not logged.
 */
export function linkErrorOf(cause: Cause.Cause<unknown>, runtime?: Runtime.Runtime<never>): TRPCError {
  const failure = Option.getOrUndefined(Cause.failureOption(cause));
  const code = codeOfFailure(failure);
  if (code === undefined || code === "INTERNAL") {
    if (Cause.isInterruptedOnly(cause))
      return new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: ErrorCodes.INTERNAL.message });
    const internal = internalFailureOf(Cause.squash(cause));
    if (runtime !== undefined) logInternal(runtime, internal);
    return new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: internal.message, cause: internal });
  }
  const message =
    failure instanceof Error && failure.message !== "" ? failure.message : ErrorCodes[code].message;
  return new TRPCError({ code: trpcCodeOf(code), message, cause: failure });
}

/** Logs an internal failure under its id, with its name and where it happened (never its words). */
function logInternal(runtime: Runtime.Runtime<never>, internal: InternalFailure): void {
  Runtime.runSync(runtime)(
    Effect.logError("a procedure failed unexpectedly").pipe(
      Effect.annotateLogs({
        errorId: internal.errorId,
        error: internal.failureName,
        ...(internal.at === undefined ? {} : { at: internal.at }),
      }),
    ),
  );
}

/** Uncoded internal errors that reached tRPC outside `runProcedure`, each with the id it was logged under. */
const uncodedFailures = new WeakMap<TRPCError, InternalFailure>();

/** The id-bearing failure {@link logUncodedFailures} logged for `error`, if it did. */
export function uncodedFailureOf(error: TRPCError): InternalFailure | undefined {
  return uncodedFailures.get(error);
}

/**
 * A tRPC adapter's `onError` (tRPC calls it before it formats the answer): an internal error that
 * did not come through {@link runProcedure} — a procedure that threw, an answer that could not be
 * serialized — is logged as one that did is, under a fresh error id that the answer then names
 * (the formatter reads it with {@link uncodedFailureOf}); its words stay in the process.
 */
export function logUncodedFailures(runtime: Runtime.Runtime<never>) {
  return ({ error }: { readonly error: TRPCError }): void => {
    if (error.code !== "INTERNAL_SERVER_ERROR" || uncodedFailures.has(error)) return;
    if (error.cause instanceof InternalFailure || codeOfFailure(error.cause) !== undefined) return;
    const internal = internalFailureOf(error.cause ?? error);
    uncodedFailures.set(error, internal);
    logInternal(runtime, internal);
  };
}

/** Runs an Effect as a procedure on a runtime; failures become {@link linkErrorOf}'s errors. */
export async function runProcedure<A, E, R>(
  runtime: Runtime.Runtime<R>,
  effect: Effect.Effect<A, E, R>,
  signal?: AbortSignal,
): Promise<A> {
  const exit = await Runtime.runPromiseExit(runtime)(effect, signal === undefined ? {} : { signal });
  if (Exit.isSuccess(exit)) return exit.value;
  throw linkErrorOf(exit.cause, runtime as Runtime.Runtime<never>);
}

/**
 * The context's runtime, for an Effect that needs `R`. The serving app builds the context from a
 * runtime that provides every service its procedures ask for (see `contextFromRequest`).
 */
export function runtimeOf<R>(ctx: LinkContext): Runtime.Runtime<R> {
  return ctx.runtime as Runtime.Runtime<R>;
}

/** Runs a procedure's Effect on the serving app's runtime (the context's). */
export function runInContext<A, E, R>(
  ctx: LinkContext,
  effect: Effect.Effect<A, E, R>,
  signal?: AbortSignal,
): Promise<A> {
  return runProcedure(runtimeOf<R>(ctx), effect, signal);
}

/**
 * Runs a streaming procedure: the Effect opens the stream (its failures become coded errors before
 * the first chunk); the chunks — an Effect stream run on the app's runtime, or a plain (async)
 * iterable, the cheaper per-chunk path — are yielded as they come. A client that goes away ends
 * the iteration, which interrupts the stream.
 */
export async function* streamInContext<A, E, R>(
  ctx: LinkContext,
  open: Effect.Effect<Stream.Stream<A, never, R> | Iterable<A> | AsyncIterable<A>, E, R>,
  signal?: AbortSignal,
): AsyncGenerator<A> {
  const opened = await runInContext(ctx, open, signal);
  if (Stream.StreamTypeId in opened) yield* Stream.toAsyncIterableRuntime(opened, runtimeOf<R>(ctx));
  else yield* opened;
}
