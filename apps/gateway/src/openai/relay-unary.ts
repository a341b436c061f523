import type { ServerResponse } from "node:http";
import { spanned } from "@pocket-ai/runtime";
import { Cause, Effect, Option } from "effect";
import type { DispatchError, DispatchedUnary } from "../relay/dispatcher.js";
import type { FrontDoorContext } from "./front-door-context.js";
import { sendJson } from "./http-response.js";
import { type FrontDoorDeps, labelsOf, type RelayCall } from "./relay-call.js";
import { chargeFor } from "./relay-charge.js";
import { answeredRow, clientClosedRow, dispatchFailedRow } from "./relay-rows.js";
import { settleWithRetry } from "./settle-retry.js";

/**
 * One non-streamed relay: dispatch, then charge the node-verified usage together with its ledger
 * row, and only then answer with the node's payload under the public model name (its `usage` the
 * tokens charged, see `countedUsage`). A dispatch failure or a client that leaves first
 * charges nothing (the caller releases the reservation) and is recorded as a failed row.
 */
export function unaryRelay(
  deps: FrontDoorDeps,
  door: FrontDoorContext,
  res: ServerResponse,
  call: RelayCall,
) {
  const { dispatcher, meter } = door;
  // The dispatch as plain callbacks in one suspension, and one exit handler for it (no generator,
  // no `tapError` nor `onInterrupt` steps): this runs for nearly every relay. The dispatch and what
  // follows it run interruptible; only the handler, which cancels the attempts of a client that
  // left (interrupted) and records it, or records a failed dispatch, does not.
  return Effect.uninterruptibleMask((restore) => {
    let cancel: (() => void) | undefined;
    // The span `Dispatcher.unary` had, when spans are exported (else no step for it).
    const dispatched = spanned(
      Effect.async<DispatchedUnary, DispatchError>((resume) => {
        cancel = dispatcher.startUnary(call.request, resume);
      }),
      "Dispatcher.unary",
    );
    return Effect.matchCauseEffect(restore(dispatched), {
      onFailure: (cause) => {
        if (Cause.isInterruptedOnly(cause)) {
          // The attempts still running are aborted: their nodes stop work no one will read.
          cancel?.();
          return Effect.zipRight(
            meter.record(clientClosedRow(call.caller, call.relay, door.now())),
            Effect.failCause(cause),
          );
        }
        const recorded = Option.match(Cause.failureOption(cause), {
          onNone: () => Effect.void,
          onSome: (error) => meter.record(dispatchFailedRow(call.caller, call.relay, error, door.now())),
        });
        return Effect.zipRight(recorded, Effect.failCause(cause));
      },
      onSuccess: (answer) => restore(answered(deps, door, res, call, answer)),
    });
  });
}

/** The dispatch's answer charged with its ledger row (retried), then sent. */
function answered(
  deps: FrontDoorDeps,
  door: FrontDoorContext,
  res: ServerResponse,
  call: RelayCall,
  answer: DispatchedUnary,
) {
  const { limits } = door;
  const { record } = answer;
  const charge = chargeFor(call.relay, record.usage, "complete");
  const now = door.now();
  // The ledger row and the charge commit together BEFORE the client gets the answer: a relay a
  // client received is always claimable by its node and charged exactly once. If that write
  // keeps failing (`SETTLE_ATTEMPTS` tries), the answer is withheld (a storage failure, never
  // blamed on the node).
  return settleWithRetry(
    deps.log,
    "a relay",
    limits.settle(call.reservation, charge, (chargedMicroUsd) =>
      answeredRow(call.caller, call.relay, record, { kind: "ok", chargedMicroUsd, now }),
    ),
    (error) =>
      deps.log.error("settling a relay failed; the answer was withheld", {
        requestHash: record.requestHash,
        reason: error.reason,
      }),
  ).pipe(
    Effect.map((charged) => {
      // The attempt wrote the public model name already (`clientPayload`): copied only if it did not.
      const model = call.relay.target.modelName;
      const payload = answer.payload.model === model ? answer.payload : { ...answer.payload, model };
      sendJson(res, 200, call.present === undefined ? payload : call.present.unary(payload), {
        ...call.headers,
        "x-pocket-node": record.nodeAddress,
        "x-pocket-relay": record.requestHash,
      });
      const labels = labelsOf(call);
      deps.metrics.tokens.inc({ model: labels.model, direction: "input" }, record.usage.inputTokens);
      deps.metrics.tokens.inc({ model: labels.model, direction: "output" }, record.usage.outputTokens);
      deps.metrics.chargedMicroUsd.inc({ model: labels.model }, charged);
      return charged;
    }),
  );
}
