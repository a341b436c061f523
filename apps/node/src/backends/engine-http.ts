import http from "node:http";
import https from "node:https";
import { urlToHttpOptions } from "node:url";
import {
  CancelToken,
  type LeanRequest,
  type LeanTarget,
  type LeanTextStream,
  leanTarget,
  MAX_TIMER_MS,
  makeLeanHttpPool,
  openLeanText,
} from "@pocket-ai/runtime";
import { Duration, Effect, Exit } from "effect";
import {
  type BackendError,
  BackendRejected,
  BackendTimeout,
  BackendUnavailable,
  type CallDeadline,
} from "./backend.js";

/** Where one engine lives and how long a call to it may take. */
export interface EngineTarget {
  readonly backendId: string;
  readonly baseUrl: string;
  readonly timeoutMs: number;
  /** Headers every call carries: the engine's API key and the operator's extra headers. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

/**
 * The headers an engine call carries from its backend config: the operator's extra headers, then
 * `Authorization: Bearer <apiKey>` when a key is set. Secrets stay here: a backend's id and logs
 * name only its kind and the URL without credentials ({@link engineIdUrl}).
 */
export function engineHeaders(config: {
  readonly apiKey?: string | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
}): Record<string, string> {
  const out: Record<string, string> = { ...(config.headers ?? {}) };
  if (config.apiKey !== undefined) out.authorization = `Bearer ${config.apiKey}`;
  return out;
}

/** A URL fit to name a backend in ids, metrics and logs: any `user:password@` removed. */
export function engineIdUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === "" && parsed.password === "") return url;
    parsed.username = "";
    parsed.password = "";
    return parsed.toString().replace(/\/$/, url.endsWith("/") ? "/" : "");
  } catch {
    return url;
  }
}

/** Engine error text is shown to operators, never whole bodies: cut it short. */
const MAX_REASON = 500;

/** Joins a base URL and a path without doubling or losing the slash. */
export function engineUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, "")}${path}`;
}

/**
 * Why fetch failed, down to the socket error (`ECONNREFUSED`, `UND_ERR_SOCKET`...), looked for a
 * few causes deep (a tRPC client error wraps fetch's, which wraps the socket's).
 */
export function describeFetchFailure(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  let inner: unknown = cause;
  for (let depth = 0; depth < 4 && inner instanceof Error; depth++) {
    const code = (inner as { code?: unknown }).code;
    if (typeof code === "string" && /^[A-Z_]+$/.test(code)) return `${cause.message}: ${code}`;
    inner = (inner as { cause?: unknown }).cause;
  }
  const first = (cause as { cause?: unknown }).cause;
  return first instanceof Error && first.message !== cause.message
    ? `${cause.message}: ${first.message}`
    : cause.message;
}

/**
 * The message an engine put in its error body: vLLM `{message}`, OpenAI/llama.cpp
 * `{error: {message}}`, TGI `{error: "..."}`, A1111/FastAPI `{detail}`; else the raw text.
 */
export function engineErrorMessage(text: string): string {
  let message = text;
  const parsed = parseJsonText(text);
  if (typeof parsed === "object" && parsed !== null) {
    const body = parsed as Record<string, unknown>;
    const error = body.error;
    const candidates = [
      typeof error === "object" && error !== null ? (error as Record<string, unknown>).message : error,
      body.message,
      body.detail,
    ];
    const found = candidates.find((candidate) => typeof candidate === "string" && candidate !== "");
    message = typeof found === "string" ? found : JSON.stringify(body.detail ?? body);
  }
  const trimmed = message.trim() === "" ? "(empty body)" : message.trim();
  return trimmed.length > MAX_REASON ? `${trimmed.slice(0, MAX_REASON)}…` : trimmed;
}

/**
 * The tagged error for a non-2xx status. 5xx, 429 (engine queue full) and 503 mean "try another
 * backend"; any other 4xx is the engine refusing this request, which another copy would refuse too.
 */
export function statusError(backendId: string, status: number, text: string): BackendError {
  const reason = `HTTP ${status}: ${engineErrorMessage(text)}`;
  if (status >= 500 || status === 429) return new BackendUnavailable({ backend: backendId, reason });
  return new BackendRejected({ backend: backendId, status, reason });
}

function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A 2xx body that is not JSON is not the engine's API: rejected with 502, as a proxy would. */
export function parseEngineJson(backendId: string, text: string): Effect.Effect<unknown, BackendRejected> {
  const parsed = parseJsonText(text);
  return parsed === undefined ? Effect.fail(invalidJson(backendId)) : Effect.succeed(parsed);
}

const invalidJson = (backendId: string) =>
  new BackendRejected({ backend: backendId, status: 502, reason: "engine answered with invalid JSON" });

/** Fails with 502 unless `value` is a JSON object (an engine answering `[]` or `"ok"` is broken). */
export function expectRecord(
  backendId: string,
  value: unknown,
  what: string,
): Effect.Effect<Record<string, unknown>, BackendRejected> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? Effect.succeed(value as Record<string, unknown>)
    : Effect.fail(
        new BackendRejected({ backend: backendId, status: 502, reason: `${what} is not a JSON object` }),
      );
}

/** The timeout every engine call gets; interruption aborts the fetch through its signal. */
export function withEngineTimeout<A, E>(
  target: EngineTarget,
  effect: Effect.Effect<A, E>,
): Effect.Effect<A, E | BackendTimeout> {
  return Effect.timeoutFail(effect, {
    duration: Duration.millis(target.timeoutMs),
    onTimeout: () => new BackendTimeout({ backend: target.backendId, timeoutMs: target.timeoutMs }),
  });
}

/**
 * Engine calls to an `http:` engine go through the lean client's pooled keep-alive sockets
 * (`makeLeanHttpPool`: `http.request` costs more CPU per call than the loopback exchange itself);
 * `https:` engines through `node:https` keep-alive agents, written directly (Node's global fetch
 * costs about a millisecond of CPU per call, and a relay makes one or two). Each engine URL is
 * parsed once; a call's body is one string, its response read whole, and its limit and
 * interruption both abort it.
 */
const agents = {
  "http:": new http.Agent({ keepAlive: true, maxSockets: 1024, scheduling: "lifo" }),
  "https:": new https.Agent({ keepAlive: true, maxSockets: 1024, scheduling: "lifo" }),
};

/**
 * Idle time after which a kept engine socket is closed: under the keep-alive timeouts of the
 * engines' servers (uvicorn, vLLM's, keeps an idle connection 5 s), so that an engine rarely
 * closes one just as it is reused.
 */
const LEAN_IDLE_MS = 4_000;
/** The most bytes of one engine answer (a batch of large pictures as base64 fits many times). */
const MAX_ENGINE_ANSWER_BYTES = 256 * 1024 * 1024;
/**
 * The most bytes of an engine's error answer kept: its message is cut to {@link MAX_REASON}
 * characters anyway, so the rest is not read (the connection is closed), and an engine that
 * answers an error with a large body never fills the node's memory.
 */
export const MAX_ENGINE_ERROR_BYTES = 64 * 1024;
const lean = makeLeanHttpPool({ idleMs: LEAN_IDLE_MS });
/**
 * How to reach each engine URL (a backend's base URL and one of its few paths), parsed once: its
 * lean target (`http:` without credentials), or its `node:http(s)` request options.
 */
type EngineRoute = { readonly lean: LeanTarget } | (http.RequestOptions & { readonly secure: boolean });
const routes = new Map<string, EngineRoute>();

function routeFor(url: string): EngineRoute {
  let route = routes.get(url);
  if (route === undefined) {
    const parsed = new URL(url);
    const target = leanTarget(parsed);
    const secure = parsed.protocol === "https:";
    route =
      target !== undefined
        ? { lean: target }
        : { ...urlToHttpOptions(parsed), agent: agents[secure ? "https:" : "http:"], secure };
    if (routes.size >= 1_024) routes.clear();
    routes.set(url, route);
  }
  return route;
}

/**
 * A streamed call to an engine URL on the lean client's pooled sockets, open once its head
 * arrived; `undefined` for an engine it does not reach (`https:`, or credentials in the URL).
 */
export function openLeanEngineStream(
  url: string,
  request: Omit<LeanRequest, "maxBodyBytes">,
): Promise<LeanTextStream> | undefined {
  const route = routeFor(url);
  return "lean" in route ? openLeanText(lean, route.lean, request) : undefined;
}

/**
 * One HTTP exchange with the engine under the target's timeout, in plain callbacks: the limit is a
 * plain timer that aborts the request (no timer fiber raced against the call), and a caller's
 * `deadline` that comes first ends it the same way, with the caller's error. `done` is called once,
 * with a 2xx answer's text or the failure, unless the returned function cancels the exchange
 * first (it aborts the request; `done` is then never called). `done` may be called before this
 * returns (a request that cannot be made).
 */
function startExchange(
  target: EngineTarget,
  method: "GET" | "POST",
  path: string,
  body: unknown,
  deadline: CallDeadline | undefined,
  done: (outcome: Exit.Exit<string, BackendError>) => void,
): () => void {
  const headers: Record<string, string | number> = { ...(target.headers ?? {}) };
  const payload = body === undefined ? undefined : JSON.stringify(body);
  if (payload !== undefined) headers["content-type"] = "application/json";
  let settled = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const settle = (outcome: Exit.Exit<string, BackendError>) => {
    if (settled) return;
    settled = true;
    if (timer !== undefined) clearTimeout(timer);
    done(outcome);
  };
  const unavailable = (cause: unknown) =>
    settle(
      Exit.fail(new BackendUnavailable({ backend: target.backendId, reason: describeFetchFailure(cause) })),
    );
  const route = routeFor(engineUrl(target.baseUrl, path));
  const callerFirst = deadline !== undefined && deadline.at - performance.now() < target.timeoutMs;
  const limitMs = callerFirst ? Math.max(0, deadline.at - performance.now()) : target.timeoutMs;
  const timeoutError = () =>
    callerFirst
      ? deadline.error()
      : new BackendTimeout({ backend: target.backendId, timeoutMs: target.timeoutMs });
  const answered = (status: number, text: string) =>
    settle(
      status < 200 || status >= 300
        ? Exit.fail(statusError(target.backendId, status, text))
        : Exit.succeed(text),
    );
  // The limit is a plain timer that aborts the call; a cancel aborts it too.
  const arm = (abort: (reason: Error) => void) => {
    if (limitMs > MAX_TIMER_MS) return;
    timer = setTimeout(() => {
      const timeout = timeoutError();
      settle(Exit.fail(timeout));
      abort(timeout);
    }, limitMs);
  };
  const cancel = (abort: (reason: Error) => void) => () => {
    if (settled) return;
    settled = true;
    if (timer !== undefined) clearTimeout(timer);
    abort(new Error("aborted"));
  };
  if ("lean" in route) {
    const token = new CancelToken();
    const abort = (reason: Error) => token.cancel(reason);
    arm(abort);
    lean
      .request(route.lean, {
        method,
        body: payload,
        headers,
        cancel: token,
        maxBodyBytes: MAX_ENGINE_ANSWER_BYTES,
        maxErrorBodyBytes: MAX_ENGINE_ERROR_BYTES,
      })
      .then(({ status, text }) => answered(status, text), unavailable);
    return cancel(abort);
  }
  if (payload !== undefined) headers["content-length"] = Buffer.byteLength(payload);
  let request: http.ClientRequest;
  try {
    const { secure, ...options } = route;
    request = (secure ? https : http).request({ ...options, method, headers }, (response) => {
      const status = response.statusCode ?? 0;
      // The same limits as the lean client's: an error answer is cut, a 2xx one refused.
      const cut = status >= 200 && status < 300 ? undefined : MAX_ENGINE_ERROR_BYTES;
      const parts: Buffer[] = [];
      let bytes = 0;
      const text = () => Buffer.concat(parts).toString("utf8");
      response.on("data", (part: Buffer) => {
        if (settled) return;
        if (cut !== undefined && bytes + part.length > cut) {
          parts.push(part.subarray(0, cut - bytes));
          answered(status, text());
          request.destroy();
          return;
        }
        bytes += part.length;
        parts.push(part);
        if (bytes > MAX_ENGINE_ANSWER_BYTES) {
          unavailable(new Error(`the engine's answer is over ${MAX_ENGINE_ANSWER_BYTES} bytes`));
          request.destroy();
        }
      });
      response.once("end", () => answered(status, text()));
      response.on("error", unavailable);
    });
  } catch (cause) {
    unavailable(cause);
    return () => undefined;
  }
  request.on("error", unavailable);
  const abort = (reason: Error) => request.destroy(reason);
  arm(abort);
  request.end(payload);
  return cancel(abort);
}

/**
 * {@link startExchange} as one asynchronous step: an interruption aborts the request. A 2xx
 * answer's text is taken by `ok` as it arrives, so what the caller does with it (parse it, check
 * it) is the step the call resumes with, not steps after it.
 */
function exchange<A>(
  target: EngineTarget,
  method: "GET" | "POST",
  path: string,
  body: unknown,
  deadline: CallDeadline | undefined,
  ok: (text: string) => Effect.Effect<A, BackendError>,
): Effect.Effect<A, BackendError> {
  return Effect.async<A, BackendError>((resume) => {
    const cancel = startExchange(target, method, path, body, deadline, (outcome) => {
      if (Exit.isFailure(outcome)) return resume(Exit.failCause(outcome.cause));
      let next: Effect.Effect<A, BackendError>;
      try {
        next = ok(outcome.value);
      } catch (defect) {
        // Thrown outside the fiber: a defect of the call, as it was when the fiber ran it.
        next = Effect.die(defect);
      }
      resume(next);
    });
    return Effect.sync(cancel);
  });
}

/**
 * One JSON call to an engine: `GET` without a body, `POST` with one. The whole exchange (headers
 * and body) shares the target's timeout, or the caller's `deadline` when that comes first; a
 * timeout or an interruption aborts the HTTP request.
 */
export function requestJson(
  target: EngineTarget,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
  deadline?: CallDeadline,
): Effect.Effect<unknown, BackendError> {
  return exchange(target, method, path, body, deadline, (text) => parseEngineJson(target.backendId, text));
}

/**
 * {@link requestJson} whose parsed answer is taken by `then` in the same step (a relay's engine
 * call: its answer checked as it arrives, no step of its own after the exchange).
 */
export function requestJsonThen<A>(
  target: EngineTarget,
  method: "GET" | "POST",
  path: string,
  body: unknown,
  deadline: CallDeadline | undefined,
  then: (value: unknown) => Effect.Effect<A, BackendError>,
): Effect.Effect<A, BackendError> {
  return exchange(target, method, path, body, deadline, (text) => {
    const parsed = parseJsonText(text);
    // Not JSON: `parseEngineJson`'s refusal (it never reaches `then`).
    return parsed === undefined
      ? Effect.flatMap(parseEngineJson(target.backendId, text), then)
      : then(parsed);
  });
}

/**
 * {@link requestJsonThen} in plain callbacks, for a relay's engine call served without a fiber:
 * `done` is called once with what `then` made of the parsed answer (a defect thrown by `then` is
 * its `die`), or with the exchange's failure, unless the returned function cancels the call first
 * (it aborts the request, and `done` is never called). `done` may be called before this returns.
 */
export function startJsonThen<A>(
  target: EngineTarget,
  method: "GET" | "POST",
  path: string,
  body: unknown,
  deadline: CallDeadline | undefined,
  then: (value: unknown) => Exit.Exit<A, BackendError>,
  done: (outcome: Exit.Exit<A, BackendError>) => void,
): () => void {
  return startExchange(target, method, path, body, deadline, (outcome) => {
    if (Exit.isFailure(outcome)) return done(Exit.failCause(outcome.cause));
    let next: Exit.Exit<A, BackendError>;
    try {
      const parsed = parseJsonText(outcome.value);
      next = parsed === undefined ? Exit.fail(invalidJson(target.backendId)) : then(parsed);
    } catch (defect) {
      next = Exit.die(defect);
    }
    done(next);
  });
}

/** A `GET` whose 2xx status is the whole answer (TGI's `/health` has an empty body). */
export function requestOk(target: EngineTarget, path: string): Effect.Effect<void, BackendError> {
  return exchange(target, "GET", path, undefined, undefined, () => Effect.void);
}
