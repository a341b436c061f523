import { PngError } from "@pocket-ai/png";
import { Effect, Stream } from "effect";
import type { BackendConfig } from "../../config/node-config.js";
import { type Backend, type BackendError, BackendRejected, BackendUnavailable } from "../backend.js";
import { devCapabilities, withOverrides } from "../engine-capabilities.js";
import { type EngineTarget, withEngineTimeout } from "../engine-http.js";
import { withStreamDeadline } from "../engine-sse.js";
import { devEmbeddings } from "./embedding-engine.js";
import { devImagesEdits, devImagesGenerations } from "./image-calls.js";
import {
  createDevImageEngine,
  createDevTextEngine,
  DevBackendRequestError,
  type DevImageEngine,
  type TextEngine,
} from "./index.js";
import { type DevRunner, devChatCompletions, devCompletions, devStream } from "./text-calls.js";

let devBackendCount = 0;

/** A refused request is the caller's fault (400); anything else is the engine failing. */
function toBackendError(backend: string, error: unknown): BackendError {
  if (error instanceof DevBackendRequestError || error instanceof PngError) {
    return new BackendRejected({ backend, status: 400, reason: error.message });
  }
  return new BackendUnavailable({ backend, reason: error instanceof Error ? error.message : String(error) });
}

/**
 * The built-in development backend behind the `Backend` contract: in-process engines answering
 * with the JSON vLLM (text) or the image adapter (images) would return, under the same call
 * timeout and with interruption aborting the engine. One engine per service kind: a text
 * service's dev backend does not build an image engine, so it declares no image capability.
 */
export function makeDevBackend(
  config: BackendConfig,
  serviceKind: "text" | "image" | "embedding",
  engines: {
    readonly text?: TextEngine;
    readonly image?: DevImageEngine;
    /** The node's clock (Unix ms), for `created`; `Date.now` when not given. */
    readonly now?: () => number;
  } = {},
): Backend {
  devBackendCount += 1;
  const target: EngineTarget = {
    backendId: `dev@local/${serviceKind}/${devBackendCount}`,
    baseUrl: "",
    timeoutMs: config.timeoutMs,
  };
  const backend = target.backendId;
  const text =
    serviceKind === "text"
      ? (engines.text ??
        createDevTextEngine({
          quality: config.quality,
          tokensPerSecond: config.tokensPerSecond,
          firstTokenLatencyMs: config.firstTokenMs,
        }))
      : undefined;
  const image =
    serviceKind === "image"
      ? (engines.image ?? createDevImageEngine({ quality: config.quality }))
      : undefined;

  const runner = inProcessRunner(target, (error) => toBackendError(backend, error), engines.now);
  const missing = (what: string) =>
    Effect.fail(
      new BackendRejected({
        backend,
        status: 501,
        reason: `this development backend serves ${serviceKind}, not ${what}`,
      }),
    );

  return {
    id: backend,
    kind: "dev",
    capabilities: withOverrides(devCapabilities(serviceKind), config.capabilities),
    completions: (body) => (text === undefined ? missing("text") : devCompletions(text, runner, body)),
    chatCompletions: (body) =>
      text === undefined ? missing("text") : devChatCompletions(text, runner, body),
    stream: (operation, body) =>
      text === undefined ? Stream.unwrap(missing("text")) : devStream(text, runner, operation, body),
    imagesGenerations: (body) =>
      image === undefined ? missing("images") : devImagesGenerations(image, runner, body),
    imagesEdits: (body) => (image === undefined ? missing("images") : devImagesEdits(image, runner, body)),
    embeddings: (body) =>
      serviceKind === "embedding" ? runner.run(async () => devEmbeddings(body)) : missing("embeddings"),
    tokenize: (input) => (text === undefined ? missing("text") : Effect.sync(() => text.countTokens(input))),
    health: () => Effect.void,
  };
}

/**
 * An in-process engine's events as a stream, aborted through their signal when the scope closes.
 * Made once, not per stream (`docs/decisions.md`).
 */
const openEvents = Effect.fnUntraced(function* <A>(
  events: (signal: AbortSignal) => AsyncIterable<A>,
  onError: (error: unknown) => BackendError,
) {
  const controller = yield* Effect.acquireRelease(
    Effect.sync(() => new AbortController()),
    (controller) => Effect.sync(() => controller.abort()),
  );
  // Building the iterable may already refuse the request (a bad prompt): a failure, not a defect.
  const iterable = yield* Effect.try({ try: () => events(controller.signal), catch: onError });
  return Stream.fromAsyncIterable(abortedOnReturn(iterable, controller), onError);
});

/**
 * `iterable`, whose iterator's `return()` aborts `controller` first. The stream's finalizer calls
 * `return()` before the scope's later finalizers run; an engine generator suspended on a wait
 * (its first token's latency, its pace) would hold that `return()` until the wait ended, and the
 * abort, queued behind it, would never cut the wait short.
 */
function abortedOnReturn<A>(iterable: AsyncIterable<A>, controller: AbortController): AsyncIterable<A> {
  return {
    [Symbol.asyncIterator]: () => {
      const iterator = iterable[Symbol.asyncIterator]();
      return {
        next: () => iterator.next(),
        return: (value?: unknown) => {
          controller.abort();
          return iterator.return === undefined
            ? Promise.resolve({ done: true as const, value: value as A })
            : iterator.return(value);
        },
      };
    },
  };
}

/**
 * How an in-process engine runs behind the `Backend` contract: each call under the backend's
 * timeout, a stream under its deadline, and interruption aborting the engine through its signal.
 */
export function inProcessRunner(
  target: EngineTarget,
  onError: (error: unknown) => BackendError,
  now: () => number = Date.now,
): DevRunner {
  return {
    now,
    run: (call) => withEngineTimeout(target, Effect.tryPromise({ try: call, catch: onError })),
    stream: (events) => withStreamDeadline(target, Stream.unwrapScoped(openEvents(events, onError))),
  };
}
