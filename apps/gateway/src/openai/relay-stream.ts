import type { ServerResponse } from "node:http";
import {
  type ErrorCode,
  formatSseEvent,
  HeadCoveredTally,
  type RelayUsage,
  SSE_DONE,
} from "@pocket-ai/protocol";
import { Effect } from "effect";
import type { MeteringRow } from "../metering/metering-writer.js";
import { countedUsage } from "../relay/counted-usage.js";
import type { CutReceiptToWrite, DispatchEvents, DispatchStreamEvent } from "../relay/dispatcher.js";
import { streamErrorEvent } from "./errors.js";
import type { FrontDoorContext } from "./front-door-context.js";
import { drained, writeChunk } from "./http-response.js";
import type { PreparedRelay } from "./prepare-request.js";
import { type FrontDoorDeps, labelsOf, type RelayCall } from "./relay-call.js";
import { chargeFor } from "./relay-charge.js";
import { answeredRow, clientClosedRow, dispatchFailedRow, failedRow } from "./relay-rows.js";
import { REQUEST_ID_HEADER } from "./request-id.js";
import { settleWithRetry } from "./settle-retry.js";

type Final = Extract<DispatchStreamEvent, { type: "final" }>;

const noop = () => undefined;

/**
 * How long a stream whose client left after every choice finished waits for its node's closing
 * event (the signed usage that follows the finish at once from a working node) before it settles
 * without it.
 */
export const FINAL_AFTER_LEAVE_MS = 5_000;

/** The node's closing usage chunk (`choices: []` with `usage`); the client reads the counted usage instead. */
const isUsageChunk = (data: Record<string, unknown>) =>
  Array.isArray(data.choices) &&
  data.choices.length === 0 &&
  typeof data.usage === "object" &&
  data.usage !== null;

/**
 * One streamed relay, end to end as server-sent events. Every verified `data` event is forwarded
 * (model renamed to the public name), except the node's usage: its usage chunk is held back and,
 * with `stream_options.include_usage`, written last (before `[DONE]`, once the stream is settled)
 * with the usage the gateway counted and charged (`countedUsage`), not the node's own figures.
 * A stream that fails mid-way ends with an OpenAI error event (`data: {"error": …}`, which the
 * official SDK raises as an `APIError`) and then `[DONE]`, as does one still open when the
 * gateway's drain runs out (`deps.streams`). Billing: a complete stream is settled
 * like a unary relay; an interrupted one — by the node or by the client leaving — pays for what
 * reached the client as far as the node's last signed chain head covers it: the protocol's
 * `HeadCoveredTally` over the chunks written (the dispatcher's record, kept by the same rule, when
 * there is one). The charge and ledger row commit before the stream's end reaches the client; when
 * that write keeps failing (tried `SETTLE_ATTEMPTS` times) the stream ends with a
 * `DATABASE_UNAVAILABLE` error event instead of `[DONE]`, nothing is charged, and the client is
 * told to retry — as a unary answer is withheld.
 */
export function streamRelay(
  deps: FrontDoorDeps,
  door: FrontDoorContext,
  res: ServerResponse,
  call: RelayCall,
) {
  const handoff: Handoff = { events: undefined, handled: false };
  // A client that leaves before the stream's first chunk: recorded as a unary relay's is, its
  // node's stream closed. That is the dispatch interrupted, or the fiber interrupted once the
  // stream had opened and before the pump took it over (its own handlers then never ran): the
  // dispatcher hands the events over as soon as they exist (`onOpened`).
  const leftBeforePump = () =>
    Effect.suspend(() => {
      handoff.events?.close();
      // The node may have finished meanwhile: none of it is in this gateway's ledger, and the
      // row's receipt says so. Written at once (not with the next batch), then delivered.
      const unpaid = handoff.events?.unpaidCut?.();
      const row = clientClosedRow(call.caller, call.relay, door.now());
      if (unpaid === undefined) return door.meter.record(row);
      return door.meter
        .record({ ...row, cutReceipt: unpaid.receipt })
        .pipe(Effect.zipRight(door.meter.flush), Effect.zipRight(Effect.sync(unpaid.deliver)));
    });
  return streamRelayBody(deps, door, res, call, handoff).pipe(
    Effect.onInterrupt(() => (handoff.handled ? Effect.void : leftBeforePump())),
  );
}

/** What the pump took over: once `handled`, its own handlers close the stream and settle it. */
interface Handoff {
  events: DispatchEvents | undefined;
  handled: boolean;
}

const streamRelayBody = Effect.fnUntraced(function* (
  deps: FrontDoorDeps,
  door: FrontDoorContext,
  res: ServerResponse,
  call: RelayCall,
  handoff: Handoff,
) {
  const { dispatcher, meter, limits } = door;
  const model = call.relay.target.modelName;
  const events = yield* dispatcher
    .stream(call.request, (opened) => {
      handoff.events = opened;
    })
    .pipe(
      Effect.tapError((error) => meter.record(dispatchFailedRow(call.caller, call.relay, error, door.now()))),
    );
  res.writeHead(200, {
    ...call.headers,
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
    trailer: "x-pocket-node, x-pocket-relay",
  });
  deps.streams?.track(res);
  const present = call.present;
  if (present !== undefined) yield* writeChunk(res, present.open());
  // What reached the client, billable as far as the node's signed chain heads cover it.
  const tally = new HeadCoveredTally(call.relay);
  // The signed head the tally's covered chunks end at (the leaf of a cut the node is paid for).
  let coveredChain: string | undefined;
  // The choices whose finish reached the client: one that leaves with every choice finished got
  // the whole answer, and pays for it (see `clientLeft`).
  const finished = new FinishedChoices(expectedChoices(call.relay));
  let final: Final | undefined;
  // The node's usage chunk (with `include_usage`), written with the counted usage at the end; the
  // last chunk written stands for it when the node sent none.
  let usageChunk: Record<string, unknown> | undefined;
  let lastChunk: Record<string, unknown> | undefined;

  /**
   * Charges the stream and writes its ledger row in one transaction (see `Limits.settle`), with
   * bounded retries; undefined when it still failed (nothing charged, no row).
   */
  const settle = (
    usage: RelayUsage,
    outcome: "complete" | "interrupted",
    row: (chargedMicroUsd: number) => MeteringRow,
  ): Effect.Effect<number | undefined> =>
    settleWithRetry(
      deps.log,
      "a stream",
      limits.settle(call.reservation, chargeFor(call.relay, usage, outcome), row),
    ).pipe(
      Effect.catchAll((error) =>
        Effect.sync(() => {
          deps.log.error("settling a stream failed; it ends with an error, not [DONE]", {
            reason: error.reason,
          });
          return undefined;
        }),
      ),
    );

  /** The stream's tokens, its charge and its time to first token, in the gateway's metrics. */
  const counted = (usage: RelayUsage, charged: number | undefined, ttftMs: number | undefined) => {
    if (ttftMs !== undefined) deps.metrics.ttftSeconds.observe({ model }, ttftMs / 1000);
    deps.metrics.tokens.inc({ model, direction: "input" }, usage.inputTokens);
    deps.metrics.tokens.inc({ model, direction: "output" }, usage.outputTokens);
    if (charged !== undefined) deps.metrics.chargedMicroUsd.inc({ model: labelsOf(call).model }, charged);
  };

  // The client left: the dispatch is interrupted with this fiber; bill what reached it. A client
  // that saw every choice finish (and left before the node's closing event) had the whole answer:
  // it pays the whole price, not the share its `max_tokens` would make of it. Its node's closing
  // event is still awaited (`awaitingFinal`, see `pump`): with it, the relay settles as the whole
  // answer it was, under its node (claimable, as the node's own ledger has it), not as a stream
  // without one, whose leaf in the node's claim this gateway would not know.
  const clientLeft = Effect.suspend(() => {
    handoff.handled = true;
    // The pump settles the same whatever ended it: a rejection here would skip the settlement.
    return awaitingFinal
      ? Effect.flatMap(
          Effect.promise(() => pumped.then(noop, noop)),
          leftSettled,
        )
      : leftSettled();
  });
  const leftSettled = () =>
    Effect.suspend(() => {
      const now = door.now();
      const record = final?.outcome === "ok" && finished.all ? final.record : undefined;
      const usage = record?.usage ?? tally.usage();
      const ttftMs = record === undefined ? undefined : final?.ttftMs;
      // Cut mid-way while its node was still sending: leaving was the client's own choice, and it
      // pays the whole call as a unary answer does, whatever it asked for as `max_tokens` (a share
      // of that would let a client that hangs up just before the end buy any answer for a sliver of
      // its price); the node is paid the whole weight through its receipt. Paid nothing (a node
      // that had stalled, or nothing its signed heads covered reached the client), the client pays
      // for what reached it and the receipt tells the node so.
      const paid = record === undefined ? paidCut(usage, true) : undefined;
      const cut: CutReceiptToWrite | undefined =
        paid ?? (record === undefined ? events.unpaidCut?.() : undefined);
      // A paid cut's row and its node's weight count the tokens the gateway counted of the
      // delivered text (never above it), not the chunks' count, which may be higher.
      const billed = paid?.record.usage ?? usage;
      return Effect.tap(
        settle(billed, finished.all || paid !== undefined ? "complete" : "interrupted", (chargedMicroUsd) =>
          record !== undefined
            ? answeredRow(call.caller, call.relay, record, { kind: "ok", chargedMicroUsd, now, ttftMs })
            : paid !== undefined
              ? // Claimable: the node's claim takes this leaf and weight from the receipt the row carries.
                withReceipt(
                  answeredRow(call.caller, call.relay, paid.record, {
                    kind: "interrupted",
                    chargedMicroUsd,
                    now,
                    ttftMs: final?.ttftMs,
                    errorCode: "CLIENT_CLOSED",
                  }),
                  paid,
                )
              : withReceipt(
                  failedRow(call.caller, call.relay, {
                    errorCode: "CLIENT_CLOSED",
                    // The node that served what the client read (not claimable: no leaf, not `ok`).
                    nodeAddress: events.nodeAddress,
                    now,
                    usage,
                    chargedMicroUsd,
                    interrupted: true,
                  }),
                  cut,
                ),
        ),
        (charged) =>
          Effect.sync(() => {
            counted(billed, charged, ttftMs);
            // Only once the row and its receipt are in the database: the node's claim may then
            // carry its leaf; a row without a leaf tells the node to claim none.
            if (charged !== undefined) cut?.deliver();
          }),
      );
    });

  /**
   * A stream the gateway cut (its client left, its own shutdown) while the node was still sending:
   * what the node is paid, as far as its signed heads covered what reached the client (see
   * `DispatchEvents.cutSettlement`); `whole` when the client was charged the whole call.
   */
  const paidCut = (usage: RelayUsage, whole: boolean) =>
    coveredChain !== undefined && tally.chunks > 0
      ? events.cutSettlement?.({
          chain: coveredChain,
          usage,
          maxOutputTokens: call.relay.maxOutputTokens,
          calls: Math.max(1, call.relay.calls ?? 1),
          whole,
        })
      : undefined;

  // The per-token path is a plain loop, no Effect per chunk. The fiber's interruption (the
  // client left) aborts `signal`, which closes the dispatched stream: a pending read ends at once
  // and nothing more is written or counted; only a client that saw every choice finish leaves the
  // stream open for the node's closing event (`awaitingFinal`), which is read but not written.
  const closing = deps.streams?.signal;
  let shutDown = false;
  const shutdown = () => {
    shutDown = true;
    events.close();
  };
  // A client gone after every choice finished, the node's closing event not yet read: the node's
  // stream stays open for it, `FINAL_AFTER_LEAVE_MS` at most (see `clientLeft`).
  let awaitingFinal = false;
  let pumped: Promise<void> = Promise.resolve();
  const pump = async (signal: AbortSignal) => {
    let grace: ReturnType<typeof setTimeout> | undefined;
    // A drain that begins meanwhile ends the wait: the settlement must run before the database closes.
    const drain = deps.streams?.drainSignal;
    const stop = () => {
      if (final === undefined && finished.all && !shutDown && drain?.aborted !== true) {
        awaitingFinal = true;
        // A node that finished every choice owes its closing event at once: a wait that runs out
        // counts against it.
        grace = setTimeout(() => events.close(true), FINAL_AFTER_LEAVE_MS);
        drain?.addEventListener("abort", shutdown, { once: true });
        return;
      }
      events.close();
    };
    signal.addEventListener("abort", stop, { once: true });
    if (closing?.aborted) shutdown();
    else closing?.addEventListener("abort", shutdown, { once: true });
    try {
      for await (const event of events) {
        if (signal.aborted && !awaitingFinal) return;
        if (event.type === "final") {
          tally.cover(event.verified);
          if (event.chain !== undefined) coveredChain = event.chain;
          final = event;
          return;
        }
        // The node's usage chunk is held back: with `include_usage` it is written last, with the
        // usage the gateway counted, once the node's signed usage has come (see below).
        if (isUsageChunk(event.data)) {
          usageChunk = event.data;
          tally.cover(event.verified);
          coveredChain = event.chain;
          continue;
        }
        // Nothing reaches a client that has gone: count only chunks handed to an open response.
        if (res.destroyed || res.writableEnded) continue;
        // Usage on a chunk with choices is the node's own figure too: not passed on.
        let data = event.data;
        if (data.usage !== undefined && data.usage !== null) data = { ...data, usage: null };
        lastChunk = data;
        tally.add(event.seq, data);
        tally.cover(event.verified);
        coveredChain = event.chain;
        finished.add(data);
        // `data.model` is already the public name (the dispatcher sets it).
        const text = present === undefined ? formatSseEvent(data) : present.chunk(data);
        if (text !== "" && !res.write(text)) await drained(res);
      }
    } finally {
      clearTimeout(grace);
      drain?.removeEventListener("abort", shutdown);
      signal.removeEventListener("abort", stop);
      closing?.removeEventListener("abort", shutdown);
    }
  };
  yield* Effect.promise((signal) => {
    handoff.handled = true;
    pumped = pump(signal);
    return pumped;
  }).pipe(
    Effect.onInterrupt(() => clientLeft),
    Effect.ensuring(Effect.sync(() => events.close())),
  );

  const now = door.now();
  const record = final?.record;
  const failed = final === undefined || final.outcome === "error";
  const errorCode: ErrorCode = final?.error?.code ?? "STREAM_INTERRUPTED";
  // A stream cut by the gateway's shutdown, or whose connection to its node broke while the
  // gateway drains (the node may be stopping too), says so: the client's remedy is to retry later
  // or elsewhere. A node's own error or a failed check during the drain keeps its own words.
  const closingDown =
    shutDown ||
    (deps.streams?.draining === true && (final?.error === undefined || final.error.cause === "transport"));
  const errorMessage =
    failed && closingDown
      ? `the gateway is shutting down${final?.error?.message === undefined ? "" : ` (${final.error.message})`}; retry the request for the rest of the answer`
      : final?.error?.message;
  // The client reads the gateway's own code for its own shutdown: a client measuring nodes (the
  // evaluator) must not count a restart against the node. The ledger row keeps the stream's code.
  const clientCode: ErrorCode = failed && closingDown ? "GATEWAY_SHUTTING_DOWN" : errorCode;
  // Whole: the node's signed usage. Cut: what this response wrote, by the same rule.
  const usage: RelayUsage = failed || record === undefined ? tally.usage() : record.usage;
  const ttftMs = final?.ttftMs;
  // Cut by the gateway's own shutdown while the node was still sending: the node is paid the
  // share of the call that reached the client, and the client pays that share (the cut was not
  // its doing). Cut past its time limit while the client had not read what the node sent: the
  // client's doing, paid whole as for a client that left (a stream the node broke or stalled is
  // owed nothing). Paid nothing (also a stream whose link broke, or that the node let run past its
  // deadline, or that failed a check), its receipt tells the node so: a node that finished
  // meanwhile must not claim the whole leaf.
  const clientCut = failed && !shutDown && final?.error?.cause === "client";
  const paid = failed && (shutDown || clientCut) ? paidCut(usage, clientCut) : undefined;
  const cut: CutReceiptToWrite | undefined = paid ?? (failed ? events.unpaidCut?.() : undefined);
  // Charge and ledger row commit together before the stream's end reaches the client: a stream
  // the client saw end (`[DONE]`) is in the ledger, charged exactly once, whenever the process dies.
  // A paid cut is billed as the row and the node's weight count it (see `leftSettled`).
  const billed = paid?.record.usage ?? usage;
  const charged = yield* settle(
    billed,
    failed && !(clientCut && paid !== undefined) ? "interrupted" : "complete",
    (chargedMicroUsd) =>
      paid !== undefined
        ? withReceipt(
            answeredRow(call.caller, call.relay, paid.record, {
              kind: "interrupted",
              chargedMicroUsd,
              now,
              ttftMs,
              errorCode,
            }),
            paid,
          )
        : record === undefined
          ? withReceipt(
              failedRow(call.caller, call.relay, {
                errorCode,
                now,
                usage,
                chargedMicroUsd,
                interrupted: true,
              }),
              cut,
            )
          : withReceipt(
              answeredRow(call.caller, call.relay, failed ? { ...record, usage } : record, {
                kind: failed ? "interrupted" : "ok",
                chargedMicroUsd,
                now,
                ttftMs,
                errorCode: failed ? errorCode : undefined,
              }),
              cut,
            ),
  );
  if (charged !== undefined) cut?.deliver();
  const requestId = res.getHeader(REQUEST_ID_HEADER)?.toString();
  if (charged === undefined) {
    // Not in the ledger: the client must not take this stream for a whole, paid answer.
    const detail = "the answer could not be recorded, so nothing was charged; retry the request";
    yield* writeChunk(
      res,
      present !== undefined
        ? present.fail("DATABASE_UNAVAILABLE", detail, requestId)
        : formatSseEvent(streamErrorEvent("DATABASE_UNAVAILABLE", detail, requestId)),
    );
    res.end();
    return;
  }
  // A whole stream's usage chunk carries what was counted and charged (written from the last chunk,
  // its id and model, when the node sent none); a failed one ends with its error instead.
  const usageFrom = call.relay.includeUsage ? (usageChunk ?? lastChunk) : undefined;
  const usageData =
    failed || record === undefined || usageFrom === undefined
      ? undefined
      : { ...usageFrom, choices: [], usage: countedUsage(usageChunk?.usage, record.usage) };
  if (present !== undefined) {
    const usageText = usageData === undefined ? "" : present.chunk(usageData);
    yield* writeChunk(
      res,
      failed ? present.fail(clientCode, errorMessage, requestId) : usageText + present.close(),
    );
  } else {
    if (failed) {
      const event = streamErrorEvent(clientCode, errorMessage, requestId);
      yield* writeChunk(res, formatSseEvent(event));
    }
    yield* writeChunk(res, usageData === undefined ? SSE_DONE : formatSseEvent(usageData) + SSE_DONE);
  }
  if (record !== undefined)
    res.addTrailers({ "x-pocket-node": record.nodeAddress, "x-pocket-relay": record.requestHash });
  res.end();

  counted(billed, charged, ttftMs);
});

/** A ledger row that carries a cut stream's receipt, to be written in the row's transaction. */
function withReceipt(row: MeteringRow, cut: CutReceiptToWrite | undefined): MeteringRow {
  return cut === undefined ? row : { ...row, cutReceipt: cut.receipt };
}

/** The choices a text call streams: its prompts (a `/v1/completions` batch) × `n`. */
function expectedChoices(relay: PreparedRelay): number {
  const n = relay.body.n;
  return Math.max(1, relay.calls ?? 1) * (typeof n === "number" && Number.isSafeInteger(n) && n > 0 ? n : 1);
}

/** Which choices' finish (a chunk with a `finish_reason`) was written to the client. */
class FinishedChoices {
  readonly #done = new Set<number>();
  constructor(readonly expected: number) {}

  add(data: unknown): void {
    const choices = (data as { choices?: unknown } | null)?.choices;
    if (!Array.isArray(choices)) return;
    for (const choice of choices as { index?: unknown; finish_reason?: unknown }[]) {
      if (typeof choice?.finish_reason === "string" && typeof choice.index === "number")
        this.#done.add(choice.index);
    }
  }

  /** Every choice asked for finished. */
  get all(): boolean {
    return this.#done.size >= this.expected;
  }
}
