import {
  bytesToHex,
  cutStreamComputeUnits,
  HeadCoveredTally,
  normalizeFinishReasons,
  type RelayStreamChunk,
  type RelayStreamFinal,
  type RelayUsage,
  relayLeafHash,
} from "@pocket-ai/protocol";
import { type AnswerRefusal, envelopeRefusal, refusal } from "./answer-refusal.js";
import { type AttemptContext, noteFailure } from "./attempt-context.js";
import {
  type AttemptFailure,
  type InvalidNodeResponse,
  invalidAnswer,
  isErrorCode,
  NodeUnreachable,
} from "./attempt-errors.js";
import { pendingCutReceipt } from "./cut-receipt.js";
import type { DispatchEvents, DispatchRequest, DispatchStreamEvent, RelayRecord } from "./dispatcher.js";
import { believedUsage, deliveredAtMost } from "./route-tokens.js";
import { carriesData, type OpenedStream, pullFailure, STREAM_CLOSED } from "./stream-attempt.js";
import type { StreamChecks } from "./stream-checks.js";

/**
 * The events of an opened stream: every chunk is checked (order, chain, the signature of each
 * signed head, then the {@link StreamChecks} the first chunk met when the stream opened) before its
 * data is yielded with `model` set to the public name. The stream always ends with one
 * `final` event: `ok` with the node's signed usage and weight, or — when the node fails, stalls or
 * sends something invalid mid-way — `error` STREAM_INTERRUPTED with a record of what was delivered,
 * counted by the protocol's `HeadCoveredTally` over the chunks passed on that a signed head covers
 * (whatever the node says).
 * No usage is believed beyond the gateway's own count of the delivered text (`route-tokens.ts`).
 */
export function streamEvents(
  ctx: AttemptContext,
  opened: OpenedStream,
  request: DispatchRequest,
  attempts: number,
  /** Sees each event on its way out (the organic checks of a sampled stream). */
  watch?: (event: DispatchStreamEvent) => DispatchStreamEvent,
): DispatchEvents {
  const { route, verifier, requestHash, checks } = opened;
  const address = route.node.address;
  const { limits, tokens, text } = checks;
  // What the client was passed, billable as far as the node's signed heads cover it.
  const tally = new HeadCoveredTally(limits);

  const record = (usage: RelayUsage, computeUnits: number, chain = verifier.verifiedChain): RelayRecord => ({
    requestHash,
    nodeAddress: address,
    servedServiceId: route.servedServiceId,
    servedTierId: route.servedTier.id,
    sessionId: route.header.sessionId,
    sessionNumber: route.header.sessionNumber,
    // The last signed head (the final chunk when the stream completed), or the head a cut paid to.
    leafHash: bytesToHex(relayLeafHash(requestHash, chain)),
    computeUnits,
    usage,
    attempts,
  });
  const final = (
    outcome: "ok" | "error",
    rec: RelayRecord | undefined,
    ended?: { readonly message: string; readonly cause: "node" | "checks" | "transport" | "client" },
  ): DispatchStreamEvent => ({
    type: "final",
    verified: verifier.verifiedChunks,
    outcome,
    ...(outcome === "error"
      ? {
          error: {
            code: "STREAM_INTERRUPTED" as const,
            message: ended?.message ?? "the stream ended before its answer was whole",
            ...(ended === undefined ? {} : { cause: ended.cause }),
          },
        }
      : {}),
    record: rec,
    ttftMs: opened.ttftMs,
    chain: verifier.verifiedChain,
  });
  let closed = false;
  /** Whether the gateway cut the stream for a reason of its own (`close()`: its client left, its shutdown). */
  let cutByGateway = false;
  /** The node closed the stream with an error of its own (its closing event said so): its own row pays nothing. */
  let nodeEndedInError = false;
  /** How long the node had sent nothing when the gateway cut the stream, if that was `stallMs` or more. */
  let stalledFor: number | undefined;
  /** When the pending pull of the node's next chunk began (undefined while none is pending). */
  const pull: PullState = { since: undefined };
  // A relay that passed chunks on is in the ledger, paid for what those chunks delivered as far
  // as the node's last signed head covers them.
  const delivered = () => {
    tally.cover(verifier.verifiedChunks);
    if (tally.chunks === 0 && tally.uncovered === 0) return undefined;
    const usage = tally.usage();
    const counted = deliveredAtMost(usage.outputTokens, text, tokens, request);
    return record({ ...usage, outputTokens: Math.min(usage.outputTokens, counted) }, 0);
  };
  const interrupted = (cause: AttemptFailure): DispatchStreamEvent => {
    // A pull the gateway cut (its client left, its shutdown) after the node had sent nothing for
    // `stallMs`: the node stalled, and its client gave up on it.
    const stalled = stalledFor !== undefined && cause._tag === "NodeUnreachable";
    const failure = stalled
      ? new NodeUnreachable({
          nodeAddress: address,
          timedOut: true,
          detail: `the node had sent nothing for ${stalledFor} ms when the stream was cut`,
        })
      : cause;
    // A pull the gateway cut itself (its client left, its shutdown) is no failure of the node's:
    // counting it would lower a node's standing for its clients' choices. A lie or a refusal the
    // node sent meanwhile is still its own.
    if (!(cutByGateway && failure._tag === "NodeUnreachable"))
      noteFailure(ctx, failure, { route, request, cut: true });
    const ended = stalled
      ? ({ message: "the node stopped sending", cause: "transport" } as const)
      : endedBy(failure);
    return final("error", delivered(), ended);
  };
  const invalid = (why: AnswerRefusal) => invalidAnswer(address, why);
  // The tier's time limit passed while no pull was pending: the gateway was waiting on its client
  // (a full socket), not on the node, which had sent all the gateway took. Cut for the client's
  // sake, as a client that left is: nothing counted against the node, which is paid for what
  // reached the client (`cutSettlement`).
  const outpaced = (): DispatchStreamEvent => {
    cutByGateway = true;
    return final("error", delivered(), {
      message:
        "the client did not read the stream within the tier's time limit; read a stream as it arrives, or ask for fewer tokens",
      cause: "client",
    });
  };

  const closing = (trailer: RelayStreamFinal, checked: boolean): DispatchStreamEvent => {
    const lie = checked ? undefined : checks.trailer(trailer);
    if (lie !== undefined) return interrupted(invalid(lie));
    if (trailer.outcome === "error") {
      nodeEndedInError = true;
      ctx.selector.stats.failure(address);
      ctx.metrics.relays.inc({ node: address, outcome: "STREAM_INTERRUPTED" });
      const code = trailer.error?.code;
      return final("error", delivered(), {
        message: `the node ended the stream with an error${code !== undefined && isErrorCode(code) ? ` (${code})` : ""}`,
        cause: "node",
      });
    }
    const usage = believedUsage(trailer.usage, text, route, request, tokens, limits);
    return final("ok", record(usage, trailer.computeUnits));
  };

  const close = (nodeAtFault = false) => {
    if (closed) return;
    if (!nodeAtFault) {
      const waited = pull.since === undefined ? 0 : Math.round(performance.now() - pull.since);
      if (waited >= ctx.settings.stallMs) stalledFor = waited;
      else cutByGateway = true;
    }
    closed = true;
    opened.deadline.clear();
    opened.controller.abort(STREAM_CLOSED);
  };
  // The generator is read without `return()`: a consumer that stops (the client left) must not
  // wait for a pending pull; `close()` aborts the node's call, which fails that pull instead. Its
  // own `next` is the iterator's (no promise of ours per chunk): it closes the stream itself before
  // it yields the final event.
  const generator = chunkEvents({
    opened,
    address,
    modelName: request.target.modelName,
    tally,
    interrupted,
    invalid,
    outpaced,
    closing,
    ended: (event) => {
      close(true);
      return watch === undefined ? event : watch(event);
    },
    watch,
    pull,
  });
  return {
    nodeAddress: address,
    [Symbol.asyncIterator]: () => ({ next: () => generator.next() }),
    close,
    unpaidCut: () => {
      if (nodeEndedInError) return undefined;
      const receipt = pendingCutReceipt(ctx, route.header.sessionEnd, {
        nodeAddress: address,
        sessionId: route.header.sessionId,
        requestHash,
        chain: requestHash,
        outputTokens: 0,
        computeUnits: 0,
        issuedAt: ctx.now(),
      });
      return { receipt, deliver: ctx.deliverCutReceipts };
    },
    cutSettlement: ({ chain, usage, maxOutputTokens, calls, whole }) => {
      // Only a stream the gateway cut while its node was still sending is owed anything.
      if (!cutByGateway || stalledFor !== undefined || chain === requestHash) return undefined;
      const outputTokens = Math.min(
        usage.outputTokens,
        deliveredAtMost(usage.outputTokens, text, tokens, request),
      );
      if (outputTokens === 0) return undefined;
      // The share of the tier the envelope named, which routing never makes heavier than the
      // one sold: the same share the client pays of the sold tier's price (`chargeFor`).
      const computeUnits = cutStreamComputeUnits(
        route.servedTier,
        { outputTokens: whole ? maxOutputTokens : outputTokens, calls },
        maxOutputTokens,
      );
      if (computeUnits === 0) return undefined;
      const paid = record({ ...usage, outputTokens }, computeUnits, chain);
      const receipt = pendingCutReceipt(ctx, route.header.sessionEnd, {
        nodeAddress: address,
        sessionId: paid.sessionId,
        requestHash,
        chain,
        outputTokens,
        computeUnits,
        issuedAt: ctx.now(),
      });
      return { record: paid, receipt, deliver: ctx.deliverCutReceipts };
    },
  };
}

/** What an opened stream's chunk loop reads and ends with (see {@link chunkEvents}). */
interface ChunkLoop {
  readonly opened: OpenedStream;
  readonly address: string;
  readonly modelName: string;
  readonly tally: HeadCoveredTally;
  readonly interrupted: (failure: AttemptFailure) => DispatchStreamEvent;
  readonly invalid: (why: AnswerRefusal) => InvalidNodeResponse;
  /** The final event of a stream whose time limit passed while no pull was pending. */
  readonly outpaced: () => DispatchStreamEvent;
  readonly closing: (trailer: RelayStreamFinal, checked: boolean) => DispatchStreamEvent;
  /** The final event on its way out: the stream closed (the node's part is over), then watched. */
  readonly ended: (event: DispatchStreamEvent) => DispatchStreamEvent;
  /** Sees each data event on its way out (see {@link streamEvents}). */
  readonly watch: ((event: DispatchStreamEvent) => DispatchStreamEvent) | undefined;
  /** Where the loop notes when its pending pull began (read when the gateway cuts the stream). */
  readonly pull: PullState;
}

/** When (`performance.now()`) the pending pull of a stream's next chunk began; `undefined` while none is. */
interface PullState {
  since: number | undefined;
}

/**
 * The per-chunk path, a plain loop (no Effect, no timer per chunk): the opened stream's one
 * deadline aborts a stalled pull. A module-level generator, not one made per stream: a generator
 * function created per call keeps what it closes over alive until a full collection
 * (`tooling/bench`, thirteenth round).
 */
async function* chunkEvents(loop: ChunkLoop): AsyncGenerator<DispatchStreamEvent> {
  const { opened, address, tally, interrupted, invalid, ended, watch } = loop;
  const { verifier, checks } = opened;
  // The first chunk passed its checks when the stream opened (`openStream`).
  let chunk: RelayStreamChunk | undefined = opened.first;
  let checked = true;
  for (;;) {
    if (chunk === undefined) {
      // Passed while the consumer was not pulling (its client behind): the node did not stall.
      if (opened.deadline.expired !== undefined) return yield ended(loop.outpaced());
      // The pull is awaited here, not through a helper: one promise less per chunk.
      let pulled: IteratorResult<unknown>;
      loop.pull.since = performance.now();
      try {
        pulled = await opened.iterator.next();
        loop.pull.since = undefined;
      } catch (error) {
        return yield ended(interrupted(pullFailure(error, address, opened.deadline, opened.check)));
      }
      if (pulled.done === true)
        return yield ended(
          interrupted(invalid(refusal("STREAM_INCOMPLETE", "the stream ended without its final chunk"))),
        );
      const accepted = verifier.accept(pulled.value);
      if (!accepted.ok)
        return yield ended(
          interrupted(invalid(envelopeRefusal("stream chunk", accepted.error, pulled.value))),
        );
      chunk = accepted.value.chunk;
      checked = false;
    }
    const trailer = chunk.final;
    if (trailer !== undefined && !carriesData(chunk)) return yield ended(loop.closing(trailer, checked));
    const lie = checked ? undefined : checks.data(chunk.data);
    if (lie !== undefined) return yield ended(interrupted(invalid(lie)));
    tally.add(chunk.seq, chunk.data);
    // Count what the last signed head covers now: the tally then holds only the chunks since it
    // (at most the node's head cadence), not every chunk of the stream until it ends.
    tally.cover(verifier.verifiedChunks);
    const data = chunk.data as Record<string, unknown>;
    const seq = chunk.seq;
    chunk = undefined;
    const event: DispatchStreamEvent = {
      type: "data",
      data: { ...normalizeFinishReasons(data), model: loop.modelName },
      seq,
      verified: verifier.verifiedChunks,
      chain: verifier.verifiedChain,
    };
    yield watch === undefined ? event : watch(event);
    // A final chunk's data came first (see `carriesData`); its trailer ends the stream.
    if (trailer !== undefined) return yield ended(loop.closing(trailer, checked));
  }
}

/**
 * What a client reads of a stream's failure mid-way, in the gateway's words: a failure's own
 * detail may be the node's text (a refusal's) or name the gateway's checks in full, which are for
 * the operator's records (the sanction, the metrics), not for the client.
 */
function endedBy(failure: AttemptFailure): {
  readonly message: string;
  readonly cause: "node" | "checks" | "transport";
} {
  switch (failure._tag) {
    case "NodeUnreachable":
      return failure.timedOut
        ? { message: "the node stopped sending within the tier's time limit", cause: "transport" }
        : { message: "the connection to the node was lost", cause: "transport" };
    case "InvalidNodeResponse":
      return { message: "a chunk of the node's stream failed the gateway's checks", cause: "checks" };
    case "NodeRefused":
      return {
        message: `the node refused to go on${isErrorCode(failure.code) ? ` (${failure.code})` : ""}`,
        cause: "node",
      };
  }
}
