import { pocketCodeOf, pocketDetailOf } from "@pocket-ai/link";
import { createStreamCutReceipt, type StreamCutReceiptFields } from "@pocket-ai/protocol";
import { Duration, Effect, Schedule } from "effect";
import { healthCallTimeout } from "../routing/schedules.js";
import type { AttemptContext } from "./attempt-context.js";

/**
 * How a receipt's delivery is retried: a node that has not yet recorded the stream (its row joins
 * a group commit, possibly in another of its workers) or could not be reached is asked again, five
 * times over about six seconds; then the relay stays out of the node's claim (this gateway's
 * ledger still holds it, paid).
 */
const cutReceiptRetries = Schedule.exponential(Duration.millis(200)).pipe(
  Schedule.intersect(Schedule.recurs(5)),
);

/** Why one delivery of a receipt failed: the node's code (and what it said was wrong), or no answer at all. */
class NotDelivered {
  constructor(
    readonly code: string | undefined,
    readonly detail?: string,
  ) {}
}

/**
 * Tells a node, in the background, that a stream its client cut short is paid work in this
 * gateway's ledger: the gateway's signed `StreamCutReceipt`, sent once the ledger row committed.
 * Retried while the node has not recorded the stream yet (`UNKNOWN_RELAY`), does not answer, or
 * fails on its own (`INTERNAL`); a refusal (`CUT_RECEIPT_REFUSED`, a bad signature…) ends it.
 * Counted in `pocket_gateway_cut_receipts_total` by how it ended: `settled` (the node's row
 * changed), `unchanged` (it said so already), `refused_<code>` or `unreachable`.
 */
export function deliverCutReceipt(
  ctx: AttemptContext,
  endpoint: string,
  fields: StreamCutReceiptFields,
): void {
  const receipt = createStreamCutReceipt(fields, ctx.key);
  const client = ctx.clients.get(endpoint);
  const once = Effect.tryPromise({
    try: (signal) => client.settleCut.mutate(receipt, { signal }),
    catch: (error) => new NotDelivered(pocketCodeOf(error), pocketDetailOf(error)),
  }).pipe(Effect.timeoutFail({ duration: healthCallTimeout, onTimeout: () => new NotDelivered(undefined) }));
  const delivered = once.pipe(
    Effect.retry({
      schedule: cutReceiptRetries,
      // Not recorded yet, no answer, or the node's own trouble: asked again. A refusal is final.
      while: (failure) =>
        failure.code === undefined || failure.code === "UNKNOWN_RELAY" || failure.code === "INTERNAL",
    }),
    Effect.matchEffect({
      // Told apart so that `settled` counts what the node's `pocket_node_cut_streams_settled_total`
      // counts: receipts that changed its ledger row (a node before the split says `settled`).
      onSuccess: (answer) => Effect.succeed(answer.status === "unchanged" ? "unchanged" : "settled"),
      onFailure: (failure) =>
        failure.code === undefined
          ? Effect.succeed("unreachable")
          : // The two ledgers disagree about this relay: the node's reason, for the operator.
            Effect.as(
              Effect.logWarning("a node refused a stream cut receipt").pipe(
                Effect.annotateLogs({
                  node: fields.nodeAddress,
                  requestHash: fields.requestHash,
                  code: failure.code,
                  ...(failure.detail === undefined ? {} : { detail: failure.detail }),
                }),
              ),
              `refused_${failure.code}`,
            ),
    }),
    Effect.flatMap((outcome) => Effect.sync(() => ctx.metrics.cutReceipts.inc({ outcome }))),
  );
  ctx.background(delivered);
}
