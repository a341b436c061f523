import type {
  ErrorCode,
  OrganicSample,
  OrganicSampleKind,
  RelayOperation,
  RelayUsage,
  ResolvedModel,
  TrafficMix,
} from "@pocket-ai/protocol";
import { Context, Data, type Effect, type Exit } from "effect";
import type { PendingCutReceipt } from "../db/cut-receipt-rows.js";

/**
 * The contract between the gateway's front door (HTTP `/v1/*`, accounts, limits, metering) and
 * its routing side (sessions, node selection, signed relays, verification, retries, hedging).
 */

/** What the front door asks for, after authentication, validation and reservation. */
export interface DispatchRequest {
  readonly application: {
    readonly id: string;
    readonly address: string;
    /** False: the application opted out of organic checks (absent: the gateway's default, in). */
    readonly organicChecks?: boolean;
  };
  readonly keyId: string;
  /** The model the caller named, resolved against the catalog: a model-named, quality or skill service and a tier. */
  readonly target: ResolvedModel;
  readonly operation: RelayOperation;
  /** The validated OpenAI body. The dispatcher rewrites `model` for the node; `stream` is set by the call used. */
  readonly body: Record<string, unknown>;
  /** The front door's id of the request, for the operator's log lines about its relay. */
  readonly requestId?: string | undefined;
  /** Evaluator keys only: send to this node (it cannot tell the relay from any other). */
  readonly targetNode?: string | undefined;
  /**
   * Text operations: the prompts' input tokens by the lower-bound counter (`tokensAtLeast`), as
   * the front door counted them for the budget rule; absent, the answer checks count them again.
   */
  readonly inputTokens?: number;
}

/** Where a relay went and what the settlement ledger must remember about it. */
export interface RelayRecord {
  readonly requestHash: string;
  readonly nodeAddress: string;
  /** The service the node served it under (a quality or skill request is served under a node's model service). */
  readonly servedServiceId: string;
  /** The tier the node served it under, its envelope's (a dearer tier's node serves a cheaper one by it). */
  readonly servedTierId: string;
  readonly sessionId: string;
  readonly sessionNumber: number;
  /** `relayLeafHash(requestHash, responseHash | final chain)` as hex, for claim verification. */
  readonly leafHash: string;
  readonly computeUnits: number;
  readonly usage: RelayUsage;
  /** Nodes tried, including the one that answered. */
  readonly attempts: number;
}

export interface DispatchedUnary {
  /** The node's verified OpenAI answer, `model` rewritten to the public model name. */
  readonly payload: Record<string, unknown>;
  readonly record: RelayRecord;
}

/**
 * One event of a dispatched stream; every `data` was checked (order, chain, schema, limits) before
 * it is yielded. `verified` is how many chunks from the first the node's last signed head vouches
 * for (its signature verified): a `data` event's `seq` below it is the node's word; above it, the
 * chunk becomes billable only when a later event's `verified` covers it (see `HeadCoveredTally`).
 */
export type DispatchStreamEvent =
  | {
      readonly type: "data";
      readonly data: Record<string, unknown>;
      readonly seq: number;
      readonly verified: number;
      /** The chain of the signed head `verified` counts to (the request hash before any head). */
      readonly chain: string;
    }
  /** Always last. `outcome: "error"` with code STREAM_INTERRUPTED when the node failed mid-way: meter what was delivered. */
  | {
      readonly type: "final";
      readonly verified: number;
      readonly outcome: "ok" | "error";
      readonly error?:
        | {
            readonly code: ErrorCode;
            /** For the client: the gateway's words for what ended the stream, never the node's. */
            readonly message: string;
            /**
             * What ended it: the node's own error or refusal (`node`), a chunk that failed the
             * gateway's checks (`checks`), the connection lost or stalled (`transport`), or the
             * tier's time limit passed while the gateway waited on its client (`client`: the
             * node is paid for what reached the client, as when the client leaves).
             */
            readonly cause?: "node" | "checks" | "transport" | "client" | undefined;
          }
        | undefined;
      readonly record: RelayRecord | undefined;
      readonly ttftMs: number | undefined;
      /** The chain of the signed head `verified` counts to. */
      readonly chain?: string | undefined;
    };

/**
 * A dispatched stream's events, read with plain async iteration: no Effect machinery runs per
 * chunk (the per-token path of every streamed relay). Iterate it once; it always ends with a
 * `final` event. `close()` stops it early (the client left): the node's call is aborted, so a
 * pending read ends with a `final` error event instead of waiting for the next chunk. Whoever
 * opened it calls `close()` when done (it is idempotent; the end of the iteration also cleans up).
 */
export interface DispatchEvents extends AsyncIterable<DispatchStreamEvent> {
  /** The node serving the stream (a row for a stream cut before its closing event names it). */
  readonly nodeAddress: string;
  /**
   * `nodeAtFault`: the node, not the gateway, is why the stream ends early (it did not send what
   * it owed in time), so the failed pull counts against it; otherwise (a client gone, a shutdown)
   * it does not.
   */
  close(nodeAtFault?: boolean): void;
  /**
   * A stream the gateway cut because its client left (`close()` without fault, the node still
   * sending): the ledger record of the part the client paid for, as far as the signed head `chain`
   * covers it (`usage`, counted by the front door), weighed by `cutStreamComputeUnits` for the
   * node's served tier, and the signed receipt that tells the node so, so that the relay joins its
   * claim: the record's row carries it (`RelayRow.cutReceipt`, written in the row's transaction),
   * and `deliver` once that row committed. `undefined` when nothing is owed: the node stalled or
   * failed, or nothing it was paid for reached the client. Absent: a cut stream pays its node
   * nothing.
   */
  cutSettlement?(paid: {
    readonly chain: string;
    readonly usage: RelayUsage;
    readonly maxOutputTokens: number;
    readonly calls: number;
    /** The client was charged the whole call (every choice it asked for reached it): so is the node paid. */
    readonly whole: boolean;
  }): ({ readonly record: RelayRecord } & CutReceiptToWrite) | undefined;
  /**
   * A stream whose ledger row pays its node nothing: a signed receipt of 0 compute units that tells
   * the node so, for that row to carry. The gateway cut it (its client left, its shutdown), or it
   * ended without the node's closing event: the connection was lost, the tier's deadline passed,
   * or a chunk failed the gateway's checks. A node that finished the stream meanwhile (its last
   * chunks lost on the way, or sent after the deadline) holds its whole leaf, which this gateway
   * never recorded; the receipt takes it out of the node's claim. `undefined` when the node closed
   * the stream with an error of its own: its own row pays nothing already.
   */
  unpaidCut?(): CutReceiptToWrite | undefined;
}

/**
 * A cut stream's signed receipt for its node: written with the stream's ledger row
 * (`RelayRow.cutReceipt`), in the same transaction, and delivered from the database until the node
 * takes it or it expires (`CutReceiptOutbox`). `deliver`: the row committed, deliver it now.
 */
export interface CutReceiptToWrite {
  readonly receipt: PendingCutReceipt;
  readonly deliver: () => void;
}

/** The relay could not be served: no node, every node failed before the first byte, a timeout... */
export class DispatchError extends Data.TaggedError("DispatchError")<{
  readonly code: ErrorCode;
  readonly detail: string;
  readonly attempts: number;
  /** The request hashes of failed attempts, so the front door can record them. */
  readonly nodeAddress?: string | undefined;
  /**
   * What the client may read besides the code: for a node's refusal the gateway believed, its own
   * recheck's detail (counts and limits) or an engine's cleaned reason.
   */
  readonly clientDetail?: string | undefined;
  /**
   * The request field the error is about (`NO_CAPABLE_NODE`: the feature no node supports; a
   * believed caller refusal: the field the gateway's recheck names, `prompt` or `messages`…).
   */
  readonly param?: string | undefined;
  /** For the operator's log: how the last attempt failed, as a kind and a code (never a node's own words). */
  readonly lastFailure?: string | undefined;
}> {}

export class Dispatcher extends Context.Tag("gateway/Dispatcher")<
  Dispatcher,
  {
    readonly unary: (request: DispatchRequest) => Effect.Effect<DispatchedUnary, DispatchError>;
    /**
     * {@link unary} as plain callbacks, for a caller that handles its own interruption: starts the
     * relay, `done` hears once how it ended (never after the returned cancel is called); the
     * cancel aborts the attempts still running. No fiber of its own.
     */
    readonly startUnary: (
      request: DispatchRequest,
      done: (exit: Exit.Exit<DispatchedUnary, DispatchError>) => void,
    ) => () => void;
    /**
     * Opens a stream: fails with DispatchError only when no node produced a first byte (after
     * retries on other nodes); after that, failures end the stream with a `final` error event.
     */
    readonly stream: (
      request: DispatchRequest,
      /**
       * Called with the events the moment they exist, before the effect completes: a caller
       * interrupted after that, before it has taken them over, still holds them to close (else the
       * node's stream would run on unread, and its node claim a relay this gateway never recorded).
       */
      onOpened?: (events: DispatchEvents) => void,
    ) => Effect.Effect<DispatchEvents, DispatchError>;
    /** What can be served now, for `GET /v1/models`: per public model name, whether any node is available. */
    readonly availability: () => ReadonlyMap<
      string,
      { readonly nodes: number; readonly capabilities?: Readonly<Record<string, number>> | undefined }
    >;
    /** The shapes of recent customer text relays (parameters only), for evaluator keys. */
    readonly trafficMix?: () => TrafficMix;
    /**
     * Hands out (once) customer relays of a node held for organic checks, for evaluator keys; of
     * one service it serves when `serviceId` is given.
     */
    readonly organicSamples?: (
      nodeAddress: string,
      max: number,
      kinds?: readonly OrganicSampleKind[],
      serviceId?: string,
    ) => readonly OrganicSample[];
  }
>() {}
