import type { IncomingMessage, ServerResponse } from "node:http";
import {
  OPENAI_OPERATION_PATHS,
  ORGANIC_SAMPLES_PATH,
  type ServiceOperation,
  TRAFFIC_MIX_PATH,
} from "@pocket-ai/protocol";
import {
  describeThrown,
  METRICS_CHALLENGE,
  type MetricsRefusal,
  type MetricsRegistry,
} from "@pocket-ai/runtime";
import { Cause, Effect, Exit, Fiber, Option, Runtime } from "effect";
import { Dispatcher } from "../relay/dispatcher.js";
import { type FrontDoorFailure, httpErrorOf, RequestRefused } from "./errors.js";
import { corsHeaders, preflightHeaders, sendJson } from "./http-response.js";
import { serveImageContent } from "./image-content.js";
import { IMAGE_CONTENT_PATH } from "./image-urls.js";
import { modelEntry, modelsList } from "./models-list.js";
import type { FrontDoorDeps, FrontDoorServices } from "./relay-call.js";
import { REQUEST_ID_HEADER, requestIdOf } from "./request-id.js";
import { responsesSurface } from "./responses/responses-surface.js";
import { serveStreamedItemCiphertext } from "./responses/streamed-item-content.js";
import { STREAMED_ITEM_PATH } from "./responses/streamed-items.js";
import { serveRelay } from "./serve-relay.js";
import { serveOrganicSamples, serveTrafficMix } from "./traffic-mix-route.js";

const OPERATION_BY_PATH = new Map<string, ServiceOperation>(
  Object.entries(OPENAI_OPERATION_PATHS).map(([operation, path]) => [path, operation as ServiceOperation]),
);

const MODEL_PATH = "/v1/models/";
const RESPONSES_PATH = "/v1/responses";

export interface HttpHandlerOptions {
  readonly deps: FrontDoorDeps;
  readonly runtime: Runtime.Runtime<FrontDoorServices>;
  readonly registry: MetricsRegistry;
  /**
   * Why a request may not read `/metrics` (`metrics.token`, `metrics.public`; runtime's
   * `metricsAccess`), or `undefined` when it may; open to every request when absent.
   */
  readonly metricsAccess?: (req: IncomingMessage) => MetricsRefusal | undefined;
  /** The tRPC handler for `/trpc/*` (node registration, settlement, admin). */
  readonly trpc: (req: IncomingMessage, res: ServerResponse) => void;
  /** Extra `/health` fields (routing, settlement, metering state). */
  readonly health?: () => Record<string, unknown>;
  /** `GET /ready`: whether relays can be served now, with the state behind it (503 when not). */
  readonly ready?: () => Promise<{ readonly ready: boolean }>;
}

/**
 * The `operation` label of a path: a route template, never the raw path, so scanners probing
 * random URLs add no metric series.
 */
export function routeLabel(path: string): string {
  const operation = OPERATION_BY_PATH.get(path);
  if (operation !== undefined) return operation;
  if (path === "/v1/models") return "models";
  if (path === RESPONSES_PATH) return "responses";
  if (path.startsWith(IMAGE_CONTENT_PATH)) return "images.content";
  if (path.startsWith(STREAMED_ITEM_PATH)) return "responses.streamed-items";
  if (path.startsWith(MODEL_PATH)) return "models.retrieve";
  return "unmatched";
}

/**
 * The gateway's HTTP front door, on plain `node:http`: the OpenAI-compatible `/v1/*` routes,
 * `/health` (the process is up), `/ready` (it can serve relays), `/metrics` (from its own machine
 * only, unless `metrics.token` or `metrics.public` is set) and tRPC at `/trpc/*`. Each `/v1` request runs as its own fiber; a client
 * that disconnects before the answer is complete interrupts it, which aborts the relay.
 */
export function makeHttpHandler(options: HttpHandlerOptions) {
  const { deps, runtime } = options;
  const run = Runtime.runFork(runtime);
  const responses = responsesSurface(deps);

  const route = Effect.fnUntraced(function* (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    cors: Record<string, string>,
  ) {
    const operation = OPERATION_BY_PATH.get(path);
    if (operation !== undefined) {
      if (req.method !== "POST") return yield* wrongMethod(req, path, POST);
      return yield* serveRelay(deps, req, res, operation, cors);
    }
    if (path === RESPONSES_PATH) {
      if (req.method !== "POST") return yield* wrongMethod(req, path, POST);
      return yield* serveRelay(deps, req, res, "chat.completions", cors, responses);
    }
    // Every other route reads: one check of the method for all of them. A `HEAD` runs as the
    // `GET` would; node:http sends its status and headers and drops the body.
    const reads = readMethods(path);
    if (reads !== undefined && !reads.includes(req.method ?? "GET"))
      return yield* wrongMethod(req, path, reads);
    if (path === "/v1/models") {
      const dispatcher = yield* Dispatcher;
      return sendJson(res, 200, modelsList(deps.catalog, dispatcher.availability()), cors);
    }
    if (path.startsWith(STREAMED_ITEM_PATH)) return yield* serveStreamedItemCiphertext(deps, req, res, path);
    if (path.startsWith(IMAGE_CONTENT_PATH)) return yield* serveImageContent(deps, req, res, path, cors);
    if (path.startsWith(MODEL_PATH)) {
      const dispatcher = yield* Dispatcher;
      const name = decodedSegment(path.slice(MODEL_PATH.length));
      const entry =
        name === undefined ? undefined : modelEntry(deps.catalog, dispatcher.availability(), name);
      if (entry === undefined) {
        return yield* new RequestRefused({
          code: "UNKNOWN_MODEL",
          detail: `no model is named ${JSON.stringify(name ?? "")}`,
          param: "model",
        });
      }
      return sendJson(res, 200, entry, cors);
    }
    if (path === `/v1${TRAFFIC_MIX_PATH}`) return yield* serveTrafficMix(deps, req, res, cors);
    if (path === `/v1${ORGANIC_SAMPLES_PATH}`) return yield* serveOrganicSamples(deps, req, res, cors);
    return yield* new RequestRefused({
      code: "ROUTE_NOT_FOUND",
      detail: `no route ${req.method ?? "GET"} ${path}`,
      status: 404,
    });
  });

  const inFlight = new Set<Fiber.RuntimeFiber<void>>();
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const requestId = requestIdOf(req);
    res.setHeader(REQUEST_ID_HEADER, requestId);
    if (path.startsWith("/trpc/")) {
      options.trpc(req, res);
      return;
    }
    const cors = corsHeaders(req, deps.cors.origins);
    if (req.method === "OPTIONS") {
      res.writeHead(204, { ...cors, ...(cors["access-control-allow-origin"] ? preflightHeaders(req) : {}) });
      res.end();
      return;
    }
    if (path === "/health") {
      sendJson(res, 200, { ok: true, ...(options.health?.() ?? {}) }, cors);
      return;
    }
    if (path === "/ready") {
      void (options.ready?.() ?? Promise.resolve({ ready: true })).then(
        (state) => sendJson(res, state.ready ? 200 : 503, state, cors),
        () => sendJson(res, 503, { ready: false }, cors),
      );
      return;
    }
    if (path === "/metrics") {
      const refusal = options.metricsAccess?.(req);
      if (refusal !== undefined) {
        const challenge = refusal === "METRICS_UNAUTHORIZED" ? METRICS_CHALLENGE : {};
        answerFailure(deps, res, new RequestRefused({ code: refusal }), { ...cors, ...challenge }, requestId);
        return;
      }
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
      res.end(options.registry.render());
      return;
    }
    const started = performance.now();
    deps.metrics.inFlight.add({}, 1);
    // The relay routes (nearly every request) skip the router's own effect.
    const operation = req.method === "POST" ? OPERATION_BY_PATH.get(path) : undefined;
    const fiber = run(
      (operation === undefined
        ? route(req, res, path, cors)
        : serveRelay(deps, req, res, operation, cors)
      ).pipe(
        // One handler for refusals and defects (a step less per request than one for each); an
        // interruption (the client left) passes through.
        Effect.catchAllCause((cause: Cause.Cause<FrontDoorFailure>) => {
          const failure = Cause.failureOption(cause);
          if (Option.isSome(failure))
            return Effect.sync(() => answerFailure(deps, res, failure.value, cors, requestId));
          const defect = Cause.dieOption(cause);
          // No failure in it: an interruption only.
          if (Option.isNone(defect)) return Effect.failCause(cause as Cause.Cause<never>);
          return Effect.sync(() => {
            deps.log.error("request failed unexpectedly", {
              path,
              requestId,
              defect: describeThrown(defect.value),
            });
            answerFailure(deps, res, new RequestRefused({ code: "INTERNAL" }), cors, requestId);
          });
        }),
      ),
    );
    inFlight.add(fiber);
    res.on("close", () => {
      if (!res.writableFinished) run(Fiber.interrupt(fiber));
    });
    fiber.addObserver((exit) => {
      inFlight.delete(fiber);
      deps.metrics.inFlight.add({}, -1);
      const operation = routeLabel(path);
      const status =
        Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)
          ? "client-closed"
          : String(res.statusCode);
      deps.metrics.requests.inc({ operation, status });
      deps.metrics.seconds.observe({ operation }, (performance.now() - started) / 1000);
      if (!res.writableEnded && !res.destroyed) res.end();
    });
  };
  /**
   * Waits for every request fiber to finish its bookkeeping (settle, metering) — run after the
   * server has closed its connections and before the database closes.
   */
  const drain = Effect.suspend(() => Fiber.awaitAll([...inFlight])).pipe(Effect.asVoid);
  return { handle, drain };
}

/** One decoded path segment (the SDK encodes `:` in `model:tier`); `undefined` when malformed. */
function decodedSegment(segment: string): string | undefined {
  if (segment === "" || segment.includes("/")) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

const POST: readonly string[] = ["POST"];
const GET_OR_HEAD: readonly string[] = ["GET", "HEAD"];
const GET_ONLY: readonly string[] = ["GET"];

/** A 405 naming the methods the route takes (`Allow`). */
const wrongMethod = (req: IncomingMessage, path: string, allow: readonly string[]) =>
  Effect.fail(
    new RequestRefused({
      code: "METHOD_NOT_ALLOWED",
      detail: `${path} takes ${allow.join(" or ")}, not ${req.method ?? "GET"}`,
      status: 405,
      allow: allow.join(", "),
    }),
  );

/**
 * The methods a read-only route takes, each route served by a branch of `route`; `undefined` for
 * any other path. `HEAD` answers as `GET` does, without the body, except on the organic samples:
 * a `GET` hands them out once, so a `HEAD` would take them and drop them.
 */
function readMethods(path: string): readonly string[] | undefined {
  if (path === `/v1${ORGANIC_SAMPLES_PATH}`) return GET_ONLY;
  const reads =
    path === "/v1/models" ||
    path.startsWith(MODEL_PATH) ||
    path.startsWith(STREAMED_ITEM_PATH) ||
    path.startsWith(IMAGE_CONTENT_PATH) ||
    path === `/v1${TRAFFIC_MIX_PATH}`;
  return reads ? GET_OR_HEAD : undefined;
}

function answerFailure(
  deps: FrontDoorDeps,
  res: ServerResponse,
  failure: FrontDoorFailure,
  cors: Record<string, string>,
  requestId: string,
) {
  const http = httpErrorOf(failure);
  if (http.status >= 500)
    deps.log.warn("request refused", {
      code: http.body.error.code,
      status: http.status,
      requestId,
      // Which node failed last and how, when nodes were tried: what an operator looks for first.
      ...(failure._tag === "DispatchError" && failure.attempts > 0
        ? { attempts: failure.attempts, node: failure.nodeAddress, lastFailure: failure.lastFailure }
        : {}),
      // What the database answered (a full disk, a read-only file, a server gone): the caller
      // reads only that the gateway cannot use its database; its operator must know why.
      ...(failure._tag === "StorageError" ? { operation: failure.operation, reason: failure.reason } : {}),
    });
  const body = { error: { ...http.body.error, request_id: requestId } };
  sendJson(res, http.status, body, { ...cors, ...http.headers });
}
