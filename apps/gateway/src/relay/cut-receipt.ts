import type { NodeRelayClient } from "@pocket-ai/link";
import { pocketCodeOf, pocketDetailOf } from "@pocket-ai/link";
import {
  createStreamCutReceipt,
  type SessionParams,
  type StreamCutReceipt,
  type StreamCutReceiptFields,
  sessionGrace,
} from "@pocket-ai/protocol";
import { Effect } from "effect";
import type { PendingCutReceipt } from "../db/cut-receipt-rows.js";
import { cutReceiptCallTimeout } from "../routing/schedules.js";
import type { AttemptContext } from "./attempt-context.js";

/**
 * When a receipt for a relay of a session that ends at `sessionEnd` can no longer change its node's
 * claim: the session's end plus its grace. The node builds the session's claim then, from the rows
 * its ledger holds; a row it rewrote later belongs to no claim, and a finished stream's row is
 * never rewritten that late (the node refuses, `CUT_RECEIPT_REFUSED`).
 *
 * @example
 * ```ts
 * cutReceiptExpiresAt(header.sessionEnd, settings.session); // sessionEnd + graceMs
 * ```
 */
export function cutReceiptExpiresAt(sessionEnd: number, session: SessionParams): number {
  return sessionEnd + sessionGrace(session);
}

/**
 * The gateway's signed receipt for a stream it cut (see `StreamCutReceipt`), with when it expires:
 * what the stream's ledger row carries into the database, for the outbox to deliver
 * (`cut-receipt-outbox.ts`).
 */
export function pendingCutReceipt(
  ctx: AttemptContext,
  sessionEnd: number,
  fields: StreamCutReceiptFields,
): PendingCutReceipt {
  return {
    receipt: createStreamCutReceipt(fields, ctx.key),
    expiresAt: cutReceiptExpiresAt(sessionEnd, ctx.settings.session),
  };
}

/**
 * How one delivery of a receipt ended: the node took it (`settled`, also for one it had taken
 * before: receipts are idempotent on the node), refused it for good (its code: sending it again
 * changes nothing), or did not answer for good (`retry`: no answer, `UNKNOWN_RELAY` while its row
 * is not committed yet, `INTERNAL`).
 */
export type CutReceiptAnswer =
  | { readonly outcome: "settled" | "unchanged" }
  | { readonly outcome: "refused"; readonly code: string; readonly detail?: string | undefined }
  | { readonly outcome: "retry"; readonly code: string | undefined };

/** Codes a node answers a receipt with that a later delivery may change. */
const RETRIED_CODES: ReadonlySet<string> = new Set(["UNKNOWN_RELAY", "INTERNAL"]);

/** One delivery of a signed receipt to the node at `client`, under the call's time limit. Never fails. */
export function offerCutReceipt(
  client: NodeRelayClient,
  receipt: StreamCutReceipt,
): Effect.Effect<CutReceiptAnswer> {
  return Effect.tryPromise({
    try: (signal) => client.settleCut.mutate(receipt, { signal }),
    catch: (error) => ({ code: pocketCodeOf(error), detail: pocketDetailOf(error) }),
  }).pipe(
    Effect.timeoutFail({
      duration: cutReceiptCallTimeout,
      onTimeout: () => ({ code: undefined, detail: undefined }),
    }),
    Effect.match({
      // Told apart so that `settled` counts what the node's `pocket_node_cut_streams_settled_total`
      // counts: receipts that changed its ledger row (a node before the split says `settled`).
      onSuccess: (answer): CutReceiptAnswer => ({
        outcome: answer.status === "unchanged" ? "unchanged" : "settled",
      }),
      onFailure: ({ code, detail }): CutReceiptAnswer =>
        code === undefined || RETRIED_CODES.has(code)
          ? { outcome: "retry", code }
          : { outcome: "refused", code, detail },
    }),
  );
}
