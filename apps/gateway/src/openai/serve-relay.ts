import type { IncomingMessage, ServerResponse } from "node:http";
import {
  isCanonicalJson,
  type ProtocolError,
  type Result,
  type ServiceOperation,
  uploadPixelBudget,
} from "@pocket-ai/protocol";
import { Effect } from "effect";
import type { AuthenticatedKey } from "../accounts/records.js";
import type { StorageError } from "../db/database.js";
import type { Reservation } from "../limits/limits.js";
import { DispatchError } from "../relay/dispatcher.js";
import type { AnswerPresenter } from "./answer-presenter.js";
import { embeddingsPresenter } from "./embeddings-answer.js";
import { type FrontDoorFailure, RequestRefused } from "./errors.js";
import { type FrontDoorContext, frontDoorContext } from "./front-door-context.js";
import { imageUrlPresenter } from "./image-urls.js";
import { keyRoleOf } from "./key-roles.js";
import { admitUploads } from "./png-upload.js";
import { type PreparedRelay, prepareRelay } from "./prepare-request.js";
import { rateLimitHeaders } from "./rate-limit-headers.js";
import type { FrontDoorDeps } from "./relay-call.js";
import { streamRelay } from "./relay-stream.js";
import { unaryRelay } from "./relay-unary.js";
import { parseImageEditForm, parseJsonBody, readBody } from "./request-body.js";
import { REQUEST_ID_HEADER } from "./request-id.js";

/** Evaluator keys send their probes to one node with this header. */
export const TARGET_NODE_HEADER = "x-pocket-target-node";

/** The node an evaluator key's `x-pocket-target-node` header names (refused for other keys). */
const targetNode = Effect.fnUntraced(function* (
  deps: FrontDoorDeps,
  value: string | string[],
  keyId: string,
) {
  const node = Array.isArray(value) ? value[0] : value;
  const role = yield* keyRoleOf(deps.db, keyId);
  if (role !== "evaluator") {
    return yield* new RequestRefused({
      code: "PERMISSION_DENIED",
      detail: `only evaluator keys may send ${TARGET_NODE_HEADER}`,
      param: TARGET_NODE_HEADER,
    });
  }
  return node;
});

function readRelayBody(deps: FrontDoorDeps, req: IncomingMessage, operation: ServiceOperation) {
  const encoding = req.headers["content-encoding"]?.trim();
  if (encoding !== undefined && encoding !== "" && encoding.toLowerCase() !== "identity") {
    return Effect.fail(
      new RequestRefused({
        code: "INVALID_REQUEST",
        detail: `the request body is compressed (content-encoding: ${encoding.slice(0, 40)}); send it uncompressed`,
        status: 415,
        acceptEncoding: "identity",
      }),
    );
  }
  const contentType = req.headers["content-type"] ?? "";
  if (operation === "images.edits") {
    if (!contentType.startsWith("multipart/form-data")) {
      return Effect.fail(
        new RequestRefused({
          code: "INVALID_REQUEST",
          detail: "image edits are sent as multipart/form-data",
          status: 415,
        }),
      );
    }
    return readBody(req, deps.maxBodyBytes.multipart, bodyHold(deps, req)).pipe(
      Effect.flatMap((body) => parseImageEditForm(body, contentType)),
    );
  }
  const mediaType = contentType.split(";")[0]!.trim().toLowerCase();
  if (mediaType !== "" && mediaType !== "application/json") {
    return Effect.fail(
      new RequestRefused({
        code: "INVALID_REQUEST",
        detail: `the body is sent as ${JSON.stringify(mediaType.slice(0, 60))}; send it as JSON with Content-Type: application/json`,
        status: 415,
      }),
    );
  }
  return readBody(req, deps.maxBodyBytes.json, bodyHold(deps, req)).pipe(Effect.flatMap(parseJsonBody));
}

function bodyHold(deps: FrontDoorDeps, req: IncomingMessage) {
  return deps.bodies === undefined
    ? undefined
    : { budget: deps.bodies.budget, source: deps.bodies.sourceOf(req) };
}

/**
 * Another API riding an operation's relay path (`/v1/responses` on chat): its body becomes the
 * operation's body, and its answers are written by a presenter.
 */
export interface RelaySurface {
  translate(
    raw: unknown,
    caller: { readonly applicationId: string },
    requestId: string,
  ): Effect.Effect<
    Result<{
      readonly body: unknown;
      readonly presenter: (model: string, createdAt: number) => AnswerPresenter;
      /** This request's names for a field of the relayed body (its messages' origins), if it has its own. */
      readonly paramName?: (param: string) => string;
    }>,
    StorageError
  >;
  /** The surface's name for a field of the relayed body that a refusal names. */
  readonly paramName?: (param: string) => string;
}

function refusalOn(rename: ((param: string) => string) | undefined, error: ProtocolError): RequestRefused {
  const param = error.param === undefined ? undefined : (rename?.(error.param) ?? error.param);
  return RequestRefused.of({ ...error, ...(param === undefined ? {} : { param }) });
}

/** A routing refusal naming a relayed field (`NO_CAPABLE_NODE`), in the surface's names. */
function dispatchErrorOn(
  rename: ((param: string) => string) | undefined,
  error: DispatchError,
): DispatchError {
  if (error.param === undefined || rename === undefined) return error;
  return new DispatchError({ ...error, param: rename(error.param) });
}

/**
 * `POST /v1/<operation>`: authenticate the key, check the evaluator header, read and validate the
 * body against the field policy and the catalog, reserve the relay's most tokens and cost (budget
 * and rate admission), then check and decode uploads, and dispatch. The
 * reservation is released whatever happens unless the relay was settled first (release after
 * settle is a no-op), so a failed dispatch is never charged.
 */
export const serveRelay = Effect.fnUntraced(function* (
  deps: FrontDoorDeps,
  req: IncomingMessage,
  res: ServerResponse,
  operation: ServiceOperation,
  cors: Readonly<Record<string, string>>,
  surface?: RelaySurface,
) {
  const door = yield* frontDoorContext;
  const startedAt = door.now();
  const key = yield* door.accounts.authenticate(req.headers.authorization);
  // Most requests name no node: no effect to run for the header then.
  const named = req.headers[TARGET_NODE_HEADER];
  const node = named === undefined ? undefined : yield* targetNode(deps, named, key.keyId);
  const raw = yield* readRelayBody(deps, req, operation);
  const requestId = String(res.getHeader(REQUEST_ID_HEADER) ?? "");
  const translated = surface === undefined ? undefined : yield* surface.translate(raw, key, requestId);
  // The translation names the surface's own fields already: only the relayed body's are renamed.
  if (translated !== undefined && !translated.ok) return yield* RequestRefused.of(translated.error);
  const prepared = prepareRelay(deps.catalog, operation, translated?.value.body ?? raw);
  const rename = translated?.value.paramName ?? surface?.paramName;
  if (!prepared.ok) return yield* refusalOn(rename, prepared.error);
  const present = translated?.value.presenter(prepared.value.target.modelName, Math.floor(startedAt / 1000));
  const limits = door.limits;
  // Budget and rate admission come before any decoding: a key with nothing left costs no work.
  // Taken whole even when the client leaves meanwhile (its row may wait on another replica's
  // lock): a hold taken then is given back at once, never left to the stale-hold sweep.
  // One mask and one exit handler, not `acquireUseRelease`'s steps: the reservation is taken
  // uninterruptibly, the relay runs interruptible, and the handler gives the hold back after a
  // failure or an interruption; after a settled relay there is nothing to give back, and no step.
  yield* Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(limits.reserve(key, prepared.value.reservation), (reservation) => {
      // The key's window as it stands with this request in it, on whatever answer follows (only
      // a key with a limit has one: the reservation read it while checking).
      if (reservation.window !== undefined) {
        for (const [name, value] of Object.entries(rateLimitHeaders(reservation.window)))
          res.setHeader(name, value);
      }
      const relayed = dispatchRelay(
        deps,
        door,
        res,
        operation,
        cors,
        {
          key,
          node,
          startedAt,
          reservation,
          present,
          baseUrl: deps.publicUrl ?? `http://${req.headers.host}`,
          requestId,
        },
        prepared.value,
      );
      // Only a surface renames fields: a plain relay's errors pass with no handler to step through.
      const run = restore(
        rename === undefined
          ? relayed
          : relayed.pipe(
              Effect.mapError((e) => (e._tag === "DispatchError" ? dispatchErrorOn(rename, e) : e)),
            ),
      );
      return Effect.matchCauseEffect(run, {
        onFailure: (cause) =>
          Effect.zipRight(Effect.ignore(limits.release(reservation)), Effect.failCause(cause)),
        onSuccess: () =>
          limits.holds(reservation) ? Effect.ignore(limits.release(reservation)) : Effect.void,
      });
    }),
  );
});

interface Admitted {
  readonly key: AuthenticatedKey;
  readonly node: string | undefined;
  readonly startedAt: number;
  readonly reservation: Reservation;
  readonly present: AnswerPresenter | undefined;
  readonly baseUrl: string;
  readonly requestId: string;
}

/**
 * Header checks and the mask decode (image edits), a signable body, then the relay itself. Plain
 * code up to the relay but for the uploads' decode: no generator's steps on every relay.
 */
function dispatchRelay(
  deps: FrontDoorDeps,
  door: FrontDoorContext,
  res: ServerResponse,
  operation: ServiceOperation,
  cors: Readonly<Record<string, string>>,
  admitted: Admitted,
  prepared: PreparedRelay,
) {
  let relay = prepared;
  let present = admitted.present;
  if (prepared.embedding !== undefined) present = embeddingsPresenter(prepared.embedding.encoding);
  if (prepared.target.kind === "image" && prepared.body.response_format === "url") {
    // Nodes answer base64; the gateway keeps the bytes and answers with URLs.
    const { response_format: _format, ...body } = prepared.body;
    relay = { ...relay, body };
    present = imageUrlPresenter(deps.imageUrls, admitted.baseUrl);
  }
  if (operation === "images.edits" && relay.target.kind === "image") {
    const budget = uploadPixelBudget(relay.target.tier.limits);
    const decode = decodedUploads(deps, door, admitted, relay, budget);
    return Effect.flatMap(decode, (decoded) =>
      relayOf(deps, door, res, operation, cors, admitted, decoded, present),
    );
  }
  return relayOf(deps, door, res, operation, cors, admitted, relay, present);
}

/** An image edit's uploads checked and decoded, once the key is admitted. */
const decodedUploads = Effect.fnUntraced(function* (
  deps: FrontDoorDeps,
  door: FrontDoorContext,
  admitted: Admitted,
  relay: PreparedRelay,
  budget: ReturnType<typeof uploadPixelBudget>,
) {
  const body = relay.body;
  const uploads = yield* Effect.promise((signal) =>
    admitUploads(body, budget, deps.uploadDecodes, admitted.key.applicationId, signal),
  );
  if (!uploads.ok && uploads.error.code === "UPLOADS_BUSY")
    return yield* new RequestRefused({
      code: "UPLOADS_BUSY",
      detail: uploads.error.detail,
      retryAfterSeconds: 1,
    });
  if (!uploads.ok) {
    // The gateway did the work of reading them: the refusal counts in the key's rate window
    // (uncharged), so a key cannot have crafted uploads decoded past its requests per minute.
    yield* door.limits.countUncharged(admitted.reservation);
    return yield* RequestRefused.of(uploads.error);
  }
  const decoded: PreparedRelay = { ...relay, body: uploads.value };
  return decoded;
});

/** The relay call of an admitted request, streamed or not. */
function relayOf(
  deps: FrontDoorDeps,
  door: FrontDoorContext,
  res: ServerResponse,
  operation: ServiceOperation,
  cors: Readonly<Record<string, string>>,
  admitted: Admitted,
  relay: PreparedRelay,
  present: AnswerPresenter | undefined,
): Effect.Effect<void, FrontDoorFailure | StorageError> {
  const { key, node, startedAt, reservation } = admitted;
  if (!isCanonicalJson(relay.body)) return Effect.fail(unsignable());
  const call = {
    caller: { applicationId: key.applicationId, keyId: key.keyId, startedAt },
    relay,
    reservation,
    present,
    request: {
      application: {
        id: key.applicationId,
        address: key.applicationAddress,
        organicChecks: key.organicChecks,
      },
      keyId: key.keyId,
      requestId: admitted.requestId,
      target: relay.target,
      operation,
      body: relay.body,
      targetNode: node,
      ...(relay.target.kind === "text" ? { inputTokens: relay.inputTokens } : {}),
    },
    headers: {
      ...cors,
      "x-pocket-service": relay.target.service.id,
      "x-pocket-tier": relay.target.tier.id,
    },
  };
  return relay.stream ? streamRelay(deps, door, res, call) : unaryRelay(deps, door, res, call);
}

/**
 * The body must be one the relay envelope can carry and sign: what passed the schema always is,
 * but free-form parts (tool schemas) are checked here, so a body the gateway cannot sign is the
 * caller's 400, never a 500 nor a failure blamed on a node.
 */
function unsignable() {
  return new RequestRefused({
    code: "INVALID_REQUEST",
    detail: "the body holds a value that cannot be relayed",
  });
}
