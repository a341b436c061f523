import { pocketCodeOf, pocketDetailOf } from "@pocket-ai/link";
import { type ErrorCode, ErrorCodes, GATEWAY_OWN_CODES } from "@pocket-ai/protocol";
import { hasSystemErrorCode, peerText } from "@pocket-ai/runtime";
import { TRPCClientError } from "@trpc/client";
import { Data } from "effect";
import type { AnswerRefusal, AnswerRefusalReason } from "./answer-refusal.js";

/**
 * Whose fault a node's refusal is, as the gateway judged it (see `judge-refusal.ts`):
 * - `caller`: the node signed a claim about the request and the gateway checked it — it goes back
 *   to the client as is, and no other node is tried;
 * - `session`: the node signed that the relay's session is over or not yet begun — the gateway
 *   signs again for the session its own clock, or the node's answer, points to;
 * - `node`: anything else (unsigned, unknown, unchecked or disproved) — another node is tried.
 */
export type Blame = "caller" | "session" | "node";

/**
 * The most of a node's own text (a refusal's code and detail, a transport error's message) a
 * failure holds, in UTF-16 units: as much as the gateway keeps of a refusal's detail anywhere. A
 * node's answer may carry megabytes of it; the failure lives as long as the relay, and retries
 * and hedges hold several.
 */
export const NODE_REFUSAL_TEXT_MAX = 1024;

/** The node refused the relay with a code (a signed error answer, or a coded transport error). */
export class NodeRefused extends Data.TaggedError("NodeRefused")<{
  readonly nodeAddress: string;
  /** The code as the node sent it: possibly not a protocol code at all. */
  readonly code: string;
  readonly detail: string;
  /** Whether the node's signature covers the refusal. */
  readonly signed: boolean;
  readonly blame: Blame;
  /** Why the refusal is a lie (a caller-blaming claim unsigned or disproved, an unknown code): the node is sanctioned. */
  readonly lie?: string | undefined;
  /** The service the relay was served under (engine refusals are counted per service and node). */
  readonly serviceId?: string | undefined;
  /** The tier it was served under: only an answer under the same service and tier disproves the refusal. */
  readonly servedTierId?: string | undefined;
  /**
   * What the client reads besides the code, set only when the gateway believed the refusal: its own
   * recheck's detail for a caller-blaming code (counts and limits by the gateway's check, never the
   * node's words), or the engine's cleaned reason for `ENGINE_REJECTED`.
   */
  readonly clientDetail?: string | undefined;
  /** The request field a believed refusal is about, as the gateway's recheck names it (`prompt`, `messages`…). */
  readonly param?: string | undefined;
  /**
   * Believed on the node's word as far as the gateway can check: an engine's refusal, or an
   * INPUT_TOO_LONG the gateway can only bound (it lacks the node's tokenizer). Another node of the
   * session is asked before the client hears it, and such refusals are counted per node.
   */
  readonly unproven?: boolean | undefined;
}> {}

/**
 * The node's answer (or a chunk of its stream) failed verification: signature, envelope, schema,
 * service or limits. `reason` says which check; `detail` is in the gateway's words only (see
 * {@link AnswerRefusal}).
 */
export class InvalidNodeResponse extends Data.TaggedError("InvalidNodeResponse")<{
  readonly nodeAddress: string;
  readonly reason: AnswerRefusalReason;
  readonly detail: string;
}> {
  readonly code: ErrorCode = "INVALID_NODE_RESPONSE";
}

/** The failure of an answer `nodeAddress` sent that the gateway refused for `why`. */
export const invalidAnswer = (nodeAddress: string, why: AnswerRefusal): InvalidNodeResponse =>
  new InvalidNodeResponse({ nodeAddress, reason: why.reason, detail: why.detail });

/** No answer: connection refused or reset, or no answer within the tier's timeout. */
export class NodeUnreachable extends Data.TaggedError("NodeUnreachable")<{
  readonly nodeAddress: string;
  readonly timedOut: boolean;
  readonly detail: string;
  /** The gateway's own side failed (out of file descriptors or local ports): not the node's doing. */
  readonly local?: boolean | undefined;
}> {
  get code(): ErrorCode {
    return this.timedOut ? "TIMEOUT" : "NO_NODES_AVAILABLE";
  }
}

export type AttemptFailure = NodeRefused | InvalidNodeResponse | NodeUnreachable;

/** Whether a string is one of the protocol's error codes. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && Object.hasOwn(ErrorCodes, code);
}

/** A refusal the gateway believed: the caller's request is at fault, so it goes back as is. */
export function isCallerError(failure: AttemptFailure): boolean {
  return failure._tag === "NodeRefused" && failure.blame === "caller";
}

/**
 * The code a client sees for a node's failure. A believed caller error keeps its code; a node's
 * fault is a server error (502/503/504) whatever the node said: a node cannot make the gateway
 * answer 401, 402, 409 or 500 by sending that code. An evaluator's targeted relay measures the node:
 * it gets the node's signed code as is, but never a 500 nor one of the gateway's own codes
 * (`GATEWAY_OWN_CODES`: a measuring client does not count those against the node, so a node could
 * dodge hard probes with them); those, an unsigned code and a node out of reach are `NODE_FAILED`
 * (unless the gateway's own side failed: out of descriptors or local ports).
 */
export function clientCodeOf(failure: AttemptFailure, targeted = false): ErrorCode {
  if (failure._tag === "InvalidNodeResponse") return failure.code;
  if (failure._tag === "NodeUnreachable")
    return targeted && !failure.timedOut && failure.local !== true ? "NODE_FAILED" : failure.code;
  if (failure.blame === "caller" && isErrorCode(failure.code)) return failure.code;
  if (!isErrorCode(failure.code) || failure.lie !== undefined) return "INVALID_NODE_RESPONSE";
  const status = ErrorCodes[failure.code].status;
  if (targeted)
    return failure.signed && status !== 500 && !GATEWAY_OWN_CODES.has(failure.code)
      ? failure.code
      : "NODE_FAILED";
  // The gateway's own words (about a pinned relay, its database, its shutdown) are never a node's.
  if (failure.code === "NODE_FAILED" || GATEWAY_OWN_CODES.has(failure.code)) return "NO_NODES_AVAILABLE";
  if (status === 502 || status === 503 || status === 504) return failure.code;
  return "NO_NODES_AVAILABLE";
}

/**
 * A failed tRPC call: the code the node put on its transport error (never signed), else
 * `undefined`. Protocol codes come through the link's decoder; any other string the node put in
 * the envelope is kept as is, so that the judge can sanction it rather than take it for a network
 * failure.
 */
export function transportFailure(
  error: unknown,
): { readonly code: string; readonly detail: string } | undefined {
  const known = pocketCodeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  if (known !== undefined) return { code: known, detail: pocketDetailOf(error) ?? message };
  if (error instanceof TRPCClientError) {
    const raw = (error.data as { pocketCode?: unknown } | undefined)?.pocketCode;
    if (typeof raw === "string") return { code: raw, detail: pocketDetailOf(error) ?? message };
  }
  return undefined;
}

/** System errors of the calling process itself (descriptors, local ports, memory), not of the node. */
const LOCAL_ERRORS: ReadonlySet<string> = new Set(["EMFILE", "ENFILE", "EADDRNOTAVAIL", "ENOBUFS", "ENOMEM"]);

/** System errors that say a request never reached the node: no connection was made. */
const NOT_CONNECTED: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  ...LOCAL_ERRORS,
]);

/**
 * Whether an uncoded failure may have come after the node took the request (a connection reset or
 * closed as its answer came): its node may hold an answer this gateway never got. Not when no
 * connection was made.
 */
export function mayHaveReached(error: unknown): boolean {
  return !hasSystemErrorCode(error, NOT_CONNECTED);
}

/** A failure that is not a coded answer: the node could not be reached (or sent no code). */
export function unreachable(nodeAddress: string, error: unknown): NodeUnreachable {
  // An uncoded tRPC error's message is the node's own text.
  const detail = peerText(error instanceof Error ? error.message : String(error), NODE_REFUSAL_TEXT_MAX);
  return new NodeUnreachable({
    nodeAddress,
    timedOut: false,
    detail,
    local: hasSystemErrorCode(error, LOCAL_ERRORS),
  });
}
