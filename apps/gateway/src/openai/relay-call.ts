import type { IncomingMessage } from "node:http";
import type { Catalog } from "@pocket-ai/protocol";
import type { BodyBudget, Logger, SqlClient } from "@pocket-ai/runtime";
import type { Accounts } from "../accounts/accounts.js";
import type { Limits, Reservation } from "../limits/limits.js";
import type { MeteringWriter } from "../metering/metering-writer.js";
import type { Dispatcher, DispatchRequest } from "../relay/dispatcher.js";
import type { ReplicaDirectory } from "../replicas/replica-directory.js";
import type { AnswerPresenter } from "./answer-presenter.js";
import type { FrontDoorMetrics } from "./front-door-metrics.js";
import type { ImageUrlStore } from "./image-urls.js";
import type { PreparedRelay } from "./prepare-request.js";
import type { RelayCaller } from "./relay-rows.js";
import type { MessageItemSeal } from "./responses/sealed-items.js";
import type { StreamedItemStore } from "./responses/streamed-items.js";
import type { StreamShutdown } from "./stream-shutdown.js";
import type { UploadDecodes } from "./upload-decodes.js";

/** What the front door is built from (besides its services). */
export interface FrontDoorDeps {
  readonly catalog: Catalog;
  readonly db: SqlClient;
  readonly metrics: FrontDoorMetrics;
  readonly log: Logger;
  readonly cors: { readonly origins: readonly string[] };
  readonly maxBodyBytes: { readonly json: number; readonly multipart: number };
  /**
   * The bytes of `/v1` bodies being received, all connections together, and whose share of them a
   * request's body counts against (its network). Absent: no budget.
   */
  readonly bodies?: {
    readonly budget: BodyBudget;
    readonly sourceOf: (req: IncomingMessage) => string | undefined;
  };
  /** The process-wide cap on image-edit uploads decoded at once (see `upload-decodes.ts`). */
  readonly uploadDecodes: UploadDecodes;
  /** Generated images kept for `response_format: "url"`. */
  readonly imageUrls: ImageUrlStore;
  /** This replica and its peers (on PostgreSQL), which hold the images this one does not. */
  readonly replicas: ReplicaDirectory;
  /** Longest wait for a peer's answer to an image fetch. */
  readonly peerTimeoutMs: number;
  /** Seals `/v1/responses` message texts into their item ids (nothing is stored). */
  readonly responseItems: MessageItemSeal;
  /** Streamed `/v1/responses` message items, kept encrypted for a limited time (on this replica). */
  readonly streamedItems: StreamedItemStore;
  /** The gateway's public URL (image URLs are made under it); absent: the request's Host. */
  readonly publicUrl?: string | undefined;
  /**
   * The gateway's shutdown of its open streams: when its drain runs out, a stream still open ends
   * with a `STREAM_INTERRUPTED` error event and `[DONE]`, billed for what it delivered, before its
   * connection closes. Absent: streams are never cut from this side.
   */
  readonly streams?: StreamShutdown;
}

/** The services the `/v1/*` handlers run with. */
export type FrontDoorServices = Accounts | Limits | Dispatcher | MeteringWriter;

/** One authenticated, validated and reserved relay on its way to the dispatcher. */
export interface RelayCall {
  readonly caller: RelayCaller;
  readonly relay: PreparedRelay;
  readonly reservation: Reservation;
  readonly request: DispatchRequest;
  /** Writes the answer in another API's shape (`/v1/responses`); absent: the operation's own. */
  readonly present?: AnswerPresenter | undefined;
  /** Headers every answer carries: CORS, `x-pocket-service`, `x-pocket-tier`. */
  readonly headers: Readonly<Record<string, string>>;
}

/** Labels of a relay's metrics: the public model name, never the key. */
export const labelsOf = (call: RelayCall) => ({
  operation: call.relay.operation,
  model: call.relay.target.modelName,
});
