import type { CutSettled } from "@pocket-ai/link";
import {
  answerChoicesMismatch,
  bytesToHex,
  createRelayResponse,
  DeliveredTally,
  type HeadCadence,
  type KeyPair,
  type ProtocolError,
  protocolError,
  type RelayRequest,
  type RelayResponse,
  type RelayStreamChunk,
  RelayStreamSigner,
  type RelayUsage,
  type RelayWeighing,
  relayLeafHash,
  StreamedChoices,
  sessionGrace,
  signRelayResponse,
  toolCallLimit,
  verifyStreamCutReceipt,
} from "@pocket-ai/protocol";
import { abortableIterator, type Logger, StreamDeadline } from "@pocket-ai/runtime";
import { Cause, Context, Effect, Exit, FiberId, Layer, Option, Scope } from "effect";
import { NodeSettings } from "../app/node-settings.js";
import { BackendPools } from "../app/served-services.js";
import { WorkerLink } from "../app/worker-link.js";
import { BackendTimeout, type CallDeadline, type StreamPiece } from "../backends/backend.js";
import { withDeadline } from "../backends/deadline.js";
import { asPoolError } from "../backends/piece-iterator.js";
import type { BackendPool, PoolError } from "../backends/pool/backend-pool.js";
import { NodeClock } from "../clock/node-clock.js";
import { RelayLedger } from "../db/node-database.js";
import type { NodeStoreError } from "../db/node-store-error.js";
import type { CutRefusal, RelayStore } from "../db/relay-store.js";
import { NodeIdentity } from "../identity/node-identity.js";
import type { NodeMetrics } from "../metrics/node-metrics.js";
import { Metrics } from "../metrics/node-metrics.js";
import { type Admission, type AdmissionContext, type AdmittedRelay, admitRelayNow } from "./admission.js";
import { foldPiece, MAX_FOLDED_PIECES } from "./coalesce.js";
import { packEmbeddingAnswer } from "./embedding-answer.js";
import { EngineAnswer, type EngineAnswerFault } from "./engine-answer.js";
import { EngineFaultLog } from "./engine-fault-log.js";
import { GatewayCounts } from "./gateway-counts.js";
import { checkImages } from "./image-answer.js";
import { backendFailure, EnvelopeRejected } from "./relay-errors.js";
import { weightOf } from "./relay-usage.js";
import { OpenStream, ServingCount } from "./serving.js";
import { Membership } from "./session-membership.js";

export interface RelayServiceOptions {
  readonly key: KeyPair;
  readonly admission: Omit<AdmissionContext, "stream">;
  readonly pools: ReadonlyMap<string, BackendPool>;
  readonly store: RelayStore;
  readonly weighting: RelayWeighing;
  /** How often a streamed relay's chain head is signed (default: every chunk). */
  readonly streamHeads?: HeadCadence;
  readonly metrics: NodeMetrics;
  readonly log: Logger;
}

/**
 * Serves relays: admits (every check before any work), runs the backend through its pool with
 * the tier's timeout, signs the outcome — success or a coded error — and records the relay's
 * hashes and weight: before a stream's last chunk leaves the node, and for a unary answer in the
 * group commit right after it leaves (see `answer`).
 */
export class RelayService extends Context.Tag("node/RelayService")<
  RelayService,
  {
    readonly relay: (input: unknown) => Effect.Effect<RelayResponse, EnvelopeRejected | NodeStoreError>;
    /** {@link relay} in plain callbacks, without a fiber where it can (see the link's `relayNow`). */
    readonly relayNow: (
      input: unknown,
      done: (outcome: Effect.Effect<RelayResponse, EnvelopeRejected | NodeStoreError>) => void,
    ) => () => void;
    readonly relayStream: (
      input: unknown,
      signal?: AbortSignal,
    ) => Effect.Effect<StreamChunks, EnvelopeRejected | NodeStoreError>;
    /** {@link relayStream} in plain callbacks, where it can (see the link's `relayStreamNow`). */
    readonly relayStreamNow: (
      input: unknown,
      signal: AbortSignal | undefined,
      done: (outcome: Effect.Effect<StreamChunks, EnvelopeRejected | NodeStoreError>) => void,
    ) => void;
    /**
     * Takes a gateway's signed stream cut receipt (see `StreamCutReceipt`): the stream it names,
     * cut short when its client left, joins the session's claim with the gateway's leaf and weight.
     */
    readonly settleCut: (input: unknown) => Effect.Effect<CutSettled, EnvelopeRejected | NodeStoreError>;
    /**
     * Completes when no relay is being served any more: every relay taken (a stream until its last
     * chunk or its reader left) has had its outcome written or its write fail. The node waits for it
     * after its server has closed and before its database closes.
     */
    readonly drain: Effect.Effect<void>;
    /** How many relays are being served now (unary calls and open streams). */
    readonly inFlight: () => number;
  }
>() {
  /** The relay service from the node's identity, ledger, backend pools, session membership and clock. */
  static readonly layer = Layer.effect(
    RelayService,
    Effect.gen(function* () {
      const { config, log } = yield* NodeSettings;
      const { key } = yield* NodeIdentity;
      const store = yield* RelayLedger;
      const metrics = yield* Metrics;
      const { services, pools } = yield* BackendPools;
      const membership = yield* Membership;
      const clock = yield* NodeClock;
      // Workers of one node share the gateways one of them caught miscounting (app/node-cluster.ts).
      const link = Option.getOrUndefined(yield* Effect.serviceOption(WorkerLink));
      const counts = new GatewayCounts({
        trusted: config.gateways.map((g) => g.address),
        auditEvery: config.countAuditEvery,
        report: {
          counted: (source) => metrics.inputCounts.inc({ source }),
          wrong: (gateway, claimed, counted, first) => {
            metrics.wrongCounts.inc({ gateway });
            if (first)
              log.warn(
                "a gateway's signed input count differs from the node's tokenizer: its relays are counted by the node from now on",
                { code: "GATEWAY_COUNT_WRONG", gateway, claimed, counted },
              );
          },
        },
        ...(link === undefined ? {} : { onDistrust: (gateway: string) => link.distrusted(gateway) }),
      });
      link?.onDistrust((gateway) => counts.distrustedElsewhere(gateway));
      return RelayService.make({
        key,
        store,
        metrics,
        pools,
        log,
        weighting: config.weighting,
        streamHeads: config.streamHeads,
        admission: {
          nodeAddress: key.address,
          gateways: new Set(config.gateways.map((g) => g.address)),
          session: config.session,
          services,
          store,
          inSession: (request) => membership.check(request),
          now: clock.now,
          counts,
        },
      });
    }),
  );

  static make(options: RelayServiceOptions): Context.Tag.Service<RelayService> {
    const { key, store, metrics } = options;
    const now = options.admission.now;
    const serving = new ServingCount();
    const engineFaults = new EngineFaultLog({
      warn: (message, fields) => options.log.warn(message, fields),
      counter: metrics.engineAnswersRefused,
      everyMs: ENGINE_FAULT_LOG_MS,
      now,
    });
    // Bookkeeping of a relay already answered or refused: a failed write is logged, and the relay
    // (not recorded as answered) is simply never claimed.
    const writeFailed = (e: NodeStoreError) =>
      options.log.error("relay ledger write failed", { error: e.message });
    /**
     * A relay whose answered row failed: `unrecorded` when its answer (or part of a stream) had
     * left (it is never claimed, see below), `INTERNAL` when the answer was withheld for it (the
     * gateway got an internal error, as a stream refused while writes fail does).
     */
    const answerUnrecorded = (service: string, e: NodeStoreError, left = true) => {
      writeFailed(e);
      metrics.relays.inc({ service, outcome: left ? "unrecorded" : "INTERNAL" });
    };
    /** A relay whose gateway went away before its answer was whole: never claimed, work no one pays for. */
    const countCut = (service: string) => metrics.relays.inc({ service, outcome: "cut" });
    const bestEffort = (write: Effect.Effect<void, NodeStoreError>) =>
      write.pipe(Effect.catchAll((e) => Effect.sync(() => writeFailed(e))));
    /** A relay cut before its answer was whole: counted `cut`, recorded failed with `code`. */
    const cutOff = (relay: AdmittedRelay, code: ProtocolError["code"]) =>
      Effect.zipRight(
        Effect.sync(() => countCut(relay.service.spec.id)),
        bestEffort(store.refuse(relay.requestHash, code, now())),
      );

    // A refused relay's service id is whatever its signer wrote (any key can sign one): counted
    // under its own name only when this node serves it, so made-up names add no series.
    const served = options.admission.services;
    const serviceLabel = (serviceId: string) => (served.has(serviceId) ? serviceId : OTHER_SERVICE);
    const signError = (request: RelayRequest, requestHash: string, error: ProtocolError): RelayResponse => {
      metrics.relays.inc({ service: serviceLabel(request.header.serviceId), outcome: error.code });
      return createRelayResponse(
        {
          requestHash,
          header: request.header,
          outcome: "error",
          error: {
            code: error.code,
            message: error.message,
            ...(error.detail === undefined ? {} : { detail: error.detail }),
          },
          usage: { inputTokens: 0, outputTokens: 0 },
          computeUnits: 0,
        },
        key,
      );
    };

    /** The tier's timeout over a relay's backend call, the wait for a seat included. */
    const callDeadline = (relay: AdmittedRelay, started: number): CallDeadline => {
      const timeoutMs = relay.tier.timeoutMs;
      return {
        at: started + timeoutMs,
        error: () => new BackendTimeout({ backend: relay.service.spec.id, timeoutMs }),
      };
    };

    /**
     * The backend call under the tier's timeout, which counts from here (the wait for a seat
     * included). Text calls carry it as a deadline the pool and the engine request end at; the
     * other operations are bounded around the pool's call.
     */
    const runUnary = (relay: AdmittedRelay, pool: BackendPool, started: number) => {
      const op = relay.request.operation;
      const timeoutMs = relay.tier.timeoutMs;
      const deadline = callDeadline(relay, started);
      switch (op) {
        case "completions":
          return pool.completions(relay.body, deadline);
        case "chat.completions":
          return pool.chatCompletions(relay.body, deadline);
        case "images.generations":
        case "images.edits":
          return withDeadline(
            (op === "images.edits" ? pool.imagesEdits(relay.body) : pool.imagesGenerations(relay.body)).pipe(
              Effect.flatMap((payload) => checkImages(payload, relay, pool.serviceId)),
            ),
            timeoutMs,
            deadline.error,
          );
        case "embeddings": {
          const expected = {
            ...(relay.embeddings ?? { inputs: 0, dimensions: 0 }),
            inputTokens: relay.inputTokens,
          };
          return withDeadline(
            pool
              .embeddings(relay.body)
              .pipe(Effect.flatMap((payload) => packEmbeddingAnswer(payload, expected, pool.serviceId))),
            timeoutMs,
            deadline.error,
          );
        }
      }
    };

    /** An admitted relay that fails after admission: recorded as refused, then answered signed. */
    const refuseAdmitted = (relay: AdmittedRelay, error: ProtocolError) =>
      Effect.map(store.refuse(relay.requestHash, error.code, now()), () =>
        signError(relay.request, relay.requestHash, error),
      );

    /** The backend's answer, metered and signed, queued to be recorded as answered as it is returned. */
    const answer = (
      relay: AdmittedRelay,
      payload: Record<string, unknown>,
      text: EngineAnswer | undefined,
    ): RelayResponse | Effect.Effect<RelayResponse, NodeStoreError> => {
      const usage: RelayUsage =
        relay.imageUnits > 0
          ? { inputTokens: 0, outputTokens: 0, images: relay.images }
          : relay.embeddings !== undefined
            ? { inputTokens: relay.inputTokens, outputTokens: 0 }
            : textUsage(DeliveredTally.ofAnswer(payload, relay).usage(), text);
      const computeUnits = weightOf(relay.tier, usage, relay.imageUnits, options.weighting, relay.calls);
      let signed: ReturnType<typeof signRelayResponse>;
      try {
        signed = signRelayResponse(
          {
            requestHash: relay.requestHash,
            header: relay.request.header,
            outcome: "ok",
            payload,
            usage,
            computeUnits,
          },
          key,
        );
      } catch {
        return refuseAdmitted(
          relay,
          protocolError("BACKEND_ERROR", "the backend's answer is not plain JSON and cannot be signed"),
        );
      }
      const { response, responseHash } = signed;
      const answered = {
        responseHash,
        leafHash: bytesToHex(relayLeafHash(relay.requestHash, responseHash)),
        inputTokens: usage.inputTokens,
        outputTokens: usage.outputTokens,
        computeUnits,
      };
      const service = relay.service.spec.id;
      // A ledger whose last commit failed: the answer waits for its row, and fails if it fails.
      if (store.writesFailing)
        return Effect.map(
          Effect.tapError(store.answer(relay.requestHash, answered, now()), (e) =>
            Effect.sync(() => answerUnrecorded(service, e, false)),
          ),
          () => {
            metrics.relays.inc({ service, outcome: "ok" });
            return response;
          },
        );
      // The row joins the next group commit and the answer leaves at once: the commit runs right
      // after it, while the gateway checks the answer, not before (0.1–0.3 ms of a lone relay's
      // added latency in `pnpm bench` runs here). The relay counts as served until the row is
      // committed, so a drain waits for it. If the write fails, or the node dies first, only this
      // node loses: the relay, never recorded answered, is never claimed (and a copy of its
      // request sent again before its session ends would be served again: nothing refuses it).
      serving.enter();
      store.answerQueued(relay.requestHash, answered, now(), (failure) => {
        serving.leave();
        if (failure === undefined) metrics.relays.inc({ service, outcome: "ok" });
        else answerUnrecorded(service, failure);
      });
      return response;
    };

    const unaryAdmission: AdmissionContext = { ...options.admission, stream: false };
    const streamAdmission: AdmissionContext = { ...options.admission, stream: true };

    // A relay decided at once (refused, or its envelope not verifiable) is answered in the step that
    // admitted it: nothing of it runs later, so it never enters the serving count. An admitted one
    // is counted until its end's bookkeeping is done, in one handler, not one per concern: it
    // leaves the serving count, and a relay cut off before it was answered (the gateway went away)
    // is recorded failed first, never claimed. Once the backend's answer is in, the relay is
    // answered (or refused) whatever the gateway does meanwhile: that step is not interrupted, and
    // it counts the relay itself.
    const relay = (input: unknown): Effect.Effect<RelayResponse, EnvelopeRejected | NodeStoreError> =>
      Effect.suspend(() => relayAdmitted(admitRelayNow(input, unaryAdmission)));
    /** A unary relay once admission ran: its answer now (a refusal) or the Effect that serves it. */
    const relayAdmitted = (
      admission: ReturnType<typeof admitRelayNow>,
    ): Effect.Effect<RelayResponse, EnvelopeRejected | NodeStoreError> => {
      if (Effect.isEffect(admission)) {
        // An admission that waits (a ledger shared by workers, a tokenizer that is a backend call).
        serving.enter();
        const call: UnaryCall = { serving: undefined, settling: false };
        return Effect.onExit(
          Effect.flatMap(admission, (decided) => relayDecided(decided, call)),
          (exit) =>
            call.serving !== undefined &&
            !call.settling &&
            Exit.isFailure(exit) &&
            Cause.isInterruptedOnly(exit.cause)
              ? Effect.ensuring(cutOff(call.serving, "INTERNAL"), leave)
              : leave,
        );
      }
      if (admission.kind === "unverifiable") return Effect.fail(EnvelopeRejected.of(admission.error));
      if (admission.kind === "refused")
        return Effect.succeed(signError(admission.request, admission.requestHash, admission.error));
      const pool = options.pools.get(admission.relay.service.spec.id);
      // Counted as served while its refusal's row is written.
      if (pool === undefined)
        return serving.around(refuseAdmitted(admission.relay, noBackend(admission.relay.service.spec.id)));
      return serveUnary(admission.relay, pool);
    };
    const leave = Effect.sync(() => serving.leave());

    /**
     * {@link relay} in plain callbacks, as the link's direct path serves it: a text relay admitted
     * at once whose pool has a seat free now runs its engine call in callbacks, and its answer is
     * signed and queued to be recorded in the call's own callback, with no fiber. `done` is called
     * once with the outcome: the answer or failure as an `Exit`, or an Effect for the caller to run
     * (a relay admitted later, an operation or a seat the callbacks do not serve, a refusal's row
     * to write first, a retry on another backend). The returned function is for a gateway that
     * leaves: before the outcome, it aborts the engine call and hands `done` the relay's cut
     * bookkeeping (recorded failed, never claimed) to run; after it, it does nothing (the caller
     * interrupts what it runs).
     */
    const relayNow = (
      input: unknown,
      done: (outcome: Effect.Effect<RelayResponse, EnvelopeRejected | NodeStoreError>) => void,
    ): (() => void) => {
      let outcome: Effect.Effect<RelayResponse, EnvelopeRejected | NodeStoreError>;
      try {
        const admission = admitRelayNow(input, unaryAdmission);
        if (!Effect.isEffect(admission) && admission.kind === "admitted") {
          const pool = options.pools.get(admission.relay.service.spec.id);
          if (pool !== undefined) return startUnary(admission.relay, pool, done);
        }
        outcome = relayAdmitted(admission);
      } catch (defect) {
        // Thrown before any outcome: a defect of the relay, as it is in its Effect form.
        outcome = Effect.die(defect);
      }
      done(outcome);
      return noCancel;
    };

    /** A relay admitted with a pool for its service, counted as served from here (see `relayNow`). */
    const startUnary = (
      relay: AdmittedRelay,
      pool: BackendPool,
      done: (outcome: Effect.Effect<RelayResponse, EnvelopeRejected | NodeStoreError>) => void,
    ): (() => void) => {
      const started = performance.now();
      const op = relay.request.operation;
      serving.enter();
      let ended = false;
      const cancel =
        op === "completions" || op === "chat.completions"
          ? pool.startUnary(op, relay.body, callDeadline(relay, started), (outcome) => {
              ended = true;
              if (!Exit.isExit(outcome))
                return done(
                  Effect.uninterruptibleMask((restore) =>
                    unaryEnd(relay, restore(outcome), started, restore),
                  ),
                );
              const exit = outcome as Exit.Exit<Record<string, unknown>, PoolError>;
              if (Exit.isFailure(exit)) return done(unaryFailed(relay, exit.cause, identity));
              let answered: Effect.Effect<RelayResponse, NodeStoreError>;
              try {
                answered = unaryAnswered(relay, exit.value, started);
              } catch (defect) {
                answered = Effect.die(defect);
              }
              // Once the answer is in, its bookkeeping runs whatever the gateway does.
              done(Exit.isExit(answered) ? answered : Effect.uninterruptible(answered));
            })
          : undefined;
      if (cancel === undefined) {
        ended = true;
        done(
          Effect.uninterruptibleMask((restore) =>
            unaryEnd(relay, restore(runUnary(relay, pool, started)), started, restore),
          ),
        );
        return noCancel;
      }
      return () => {
        if (ended) return;
        ended = true;
        cancel();
        done(
          Effect.zipRight(
            Effect.uninterruptible(Effect.ensuring(cutOff(relay, "INTERNAL"), leave)),
            Effect.interrupt,
          ),
        );
      };
    };

    /**
     * A relay admitted with a pool for its service, counted as served: the backend call, then its
     * answer signed and recorded (or its failure refused), and the serving count left once, in the
     * one step that follows the call (no handler of its own per concern).
     */
    const serveUnary = (
      relay: AdmittedRelay,
      pool: BackendPool,
    ): Effect.Effect<RelayResponse, EnvelopeRejected | NodeStoreError> =>
      Effect.uninterruptibleMask((restore) => {
        const started = performance.now();
        const call = runUnary(relay, pool, started);
        serving.enter();
        return unaryEnd(relay, restore(call), started, restore);
      });

    /** What follows a served unary relay's backend call (uninterruptible but for `restore`d parts). */
    const unaryEnd = (
      relay: AdmittedRelay,
      call: Effect.Effect<Record<string, unknown>, PoolError>,
      started: number,
      restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
    ): Effect.Effect<RelayResponse, NodeStoreError> =>
      Effect.matchCauseEffect(call, {
        onSuccess: (payload) => unaryAnswered(relay, payload, started),
        onFailure: (cause) => unaryFailed(relay, cause, restore),
      });

    /** The backend's answer settled (see `settle`), the serving count left once it is. */
    const unaryAnswered = (
      relay: AdmittedRelay,
      payload: Record<string, unknown>,
      started: number,
    ): Effect.Effect<RelayResponse, NodeStoreError> => {
      let answered: RelayResponse | Effect.Effect<RelayResponse, NodeStoreError>;
      try {
        answered = settle(relay, payload, started);
      } catch (defect) {
        serving.leave();
        throw defect;
      }
      if (Effect.isEffect(answered)) return Effect.ensuring(answered, leave);
      serving.leave();
      return Effect.succeed(answered);
    };

    /**
     * The backend failed (refused signed, the refusal's write interruptible as the call was), or
     * the gateway went away before the answer was in (recorded failed, not claimed).
     */
    const unaryFailed = (
      relay: AdmittedRelay,
      cause: Cause.Cause<PoolError>,
      restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
    ): Effect.Effect<RelayResponse, NodeStoreError> => {
      const failure = Cause.failureOption(cause);
      const ended = Option.isSome(failure)
        ? restore(refuseAdmitted(relay, backendFailure(failure.value)))
        : Effect.failCause(Cause.stripFailures(cause));
      return Effect.onExit(ended, (exit) =>
        Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)
          ? Effect.ensuring(cutOff(relay, "INTERNAL"), leave)
          : leave,
      );
    };

    /** The backend's answer: signed and queued to be recorded, or refused if it must not be signed. */
    const settle = (
      relay: AdmittedRelay,
      payload: Record<string, unknown>,
      started: number,
    ): RelayResponse | Effect.Effect<RelayResponse, NodeStoreError> => {
      metrics.relaySeconds.observe(
        { service: relay.service.spec.id, operation: relay.request.operation },
        (performance.now() - started) / 1000,
      );
      // An engine that answers a batch in part, or whose answer the gateway would refuse by its
      // text alone (`engine-answer.ts`), is not signed: the lie would be this node's.
      const text = relay.choices > 0 ? engineAnswer(relay, false) : undefined;
      const wrong = relay.choices > 0 ? choicesFault(payload, relay.choices, text) : undefined;
      if (wrong === undefined) return answer(relay, payload, text);
      engineFaults.note(relay.service.spec.id, wrong);
      return refuseAdmitted(relay, protocolError("BACKEND_ERROR", `the backend's answer ${wrong.detail}`));
    };

    /** A relay whose admission waited: served as a relay admitted at once is, its end handled by `relay`. */
    const relayDecided = (
      admission: Admission,
      call: UnaryCall,
    ): Effect.Effect<RelayResponse, EnvelopeRejected | NodeStoreError> => {
      if (admission.kind === "unverifiable") return Effect.fail(EnvelopeRejected.of(admission.error));
      if (admission.kind === "refused")
        return Effect.sync(() => signError(admission.request, admission.requestHash, admission.error));
      const { relay } = admission;
      const pool = options.pools.get(relay.service.spec.id);
      if (pool === undefined) return refuseAdmitted(relay, noBackend(relay.service.spec.id));
      call.serving = relay;
      const started = performance.now();
      return Effect.matchEffect(runUnary(relay, pool, started), {
        onFailure: (error) => refuseAdmitted(relay, backendFailure(error)),
        onSuccess: (payload) => {
          call.settling = true;
          return Effect.uninterruptible(Effect.suspend(() => asEffect(settle(relay, payload, started))));
        },
      });
    };

    // Counted from here until the stream's bookkeeping is done: at once for a refusal or an opening
    // that failed (one final chunk), else when the open stream ends (see `OpenStream`).
    const relayStream = (
      input: unknown,
      signal?: AbortSignal,
    ): Effect.Effect<StreamChunks, EnvelopeRejected | NodeStoreError> =>
      Effect.suspend(() => {
        serving.enter();
        return streamAdmitted(admitRelayNow(input, streamAdmission), signal);
      });

    /**
     * {@link relayStream} in plain callbacks, as the link's direct path serves it: a stream admitted
     * at once is opened without a fiber of its own around the pool's opening, and `done` is called
     * once with the opening's `Exit` (see `streamDecided`); an admission that waits hands `done` the
     * Effect that serves the rest. `signal` aborts when the gateway goes away.
     */
    const relayStreamNow = (
      input: unknown,
      signal: AbortSignal | undefined,
      done: (outcome: Effect.Effect<StreamChunks, EnvelopeRejected | NodeStoreError>) => void,
    ) => {
      serving.enter();
      let admission: ReturnType<typeof admitRelayNow>;
      try {
        admission = admitRelayNow(input, streamAdmission);
      } catch (defect) {
        // Thrown before any outcome: a defect of the relay, as it is in its Effect form.
        serving.leave();
        return done(Effect.die(defect));
      }
      if (Effect.isEffect(admission)) return done(streamAdmitted(admission, signal));
      streamDecided(admission, signal, done);
    };

    /**
     * A counted stream's opening once admission ran, as an Effect: what `streamDecided` hands over.
     * An interruption aborts the opening as the gateway's leaving does, and waits for its
     * bookkeeping.
     */
    const streamAdmitted = (
      admission: ReturnType<typeof admitRelayNow>,
      signal: AbortSignal | undefined,
    ): Effect.Effect<StreamChunks, EnvelopeRejected | NodeStoreError> => {
      let handed = false;
      const opening = Effect.flatMap(asEffect(admission), (decided) =>
        Effect.async<StreamChunks, EnvelopeRejected | NodeStoreError>((resume, interrupted) => {
          handed = true;
          let settle: (exit: StreamOpened) => void = () => undefined;
          const settled = new Promise<StreamOpened>((resolve) => {
            settle = resolve;
          });
          const gone = signal === undefined ? interrupted : AbortSignal.any([signal, interrupted]);
          streamDecided(decided, gone, (exit) => {
            settle(exit);
            resume(exit);
          });
          // Interrupted, it ends as the gateway's leaving does (a cut): waited for, and a stream that
          // opened meanwhile ended as one never read is.
          return Effect.promise(async () => {
            const exit = await settled;
            if (Exit.isSuccess(exit) && exit.value instanceof OpenStream) await exit.value.return();
          });
        }),
      );
      // Left here only when the opening never began (an admission that failed or was interrupted).
      return Effect.onExit(opening, () =>
        Effect.sync(() => {
          if (!handed) serving.leave();
        }),
      );
    };

    /**
     * A counted stream whose admission is decided: `done` is called once, its bookkeeping done,
     * with the `Exit` of its opening: the envelope refused, one signed final chunk (a refusal, a
     * ledger that cannot record, an engine that failed), or the open stream. It leaves the serving
     * count unless the stream opened (the stream leaves it when it ends).
     */
    const streamDecided = (
      admission: Admission,
      signal: AbortSignal | undefined,
      done: (exit: StreamOpened) => void,
    ) => {
      const ended = (exit: StreamOpened) => {
        if (!(Exit.isSuccess(exit) && exit.value instanceof OpenStream)) serving.leave();
        done(exit);
      };
      if (admission.kind === "unverifiable") return ended(Exit.fail(EnvelopeRejected.of(admission.error)));
      if (admission.kind === "refused") {
        const signer = new RelayStreamSigner(admission.requestHash, key);
        metrics.relays.inc({
          service: serviceLabel(admission.request.header.serviceId),
          outcome: admission.error.code,
        });
        return ended(
          Exit.succeed([finalError(signer, admission.error, { inputTokens: 0, outputTokens: 0 })]),
        );
      }
      const relay = admission.relay;
      // A ledger whose last commit failed could not record the stream's answer: refused before
      // any work (the refusal's own row is a commit: once one succeeds, streams are served again).
      if (store.writesFailing) {
        const error = protocolError("INTERNAL", "the node cannot record relays now; try another node");
        return refuseStream(relay, error, { inputTokens: 0, outputTokens: 0 }, ended);
      }
      const pool = options.pools.get(relay.service.spec.id);
      if (pool === undefined)
        return refuseStream(
          relay,
          noBackend(relay.service.spec.id),
          new DeliveredTally(relay).usage(),
          ended,
        );
      openStream(relay, pool, signal, ended);
    };

    /** An admitted stream refused before any work: recorded refused, then its one final chunk. */
    const refuseStream = (
      relay: AdmittedRelay,
      error: ProtocolError,
      usage: RelayUsage,
      done: (exit: StreamOpened) => void,
    ) => {
      metrics.relays.inc({ service: relay.service.spec.id, outcome: error.code });
      const last = finalError(new RelayStreamSigner(relay.requestHash, key), error, usage);
      afterWrites(
        bestEffort(store.refuse(relay.requestHash, error.code, now())),
        () => Exit.succeed([last]),
        done,
      );
    };

    /** Runs the bookkeeping's `writes`, then hands `done` what follows them (or their defect). */
    const afterWrites = (
      writes: Effect.Effect<void>,
      then: () => StreamOpened,
      done: (exit: StreamOpened) => void,
    ): void => {
      Effect.runCallback(writes, {
        onExit: (exit) => done(Exit.isFailure(exit) ? Exit.failCause(exit.cause) : then()),
      });
    };

    const finalError = (signer: RelayStreamSigner, error: ProtocolError, usage: RelayUsage) =>
      signer.finish(null, {
        usage,
        computeUnits: 0,
        outcome: "error",
        error: {
          code: error.code,
          message: error.message,
          ...(error.detail === undefined ? {} : { detail: error.detail }),
        },
      });

    const refuse = (
      relay: AdmittedRelay,
      code: ProtocolError["code"],
      sent?: RelayUsage & { readonly computeUnits: number },
    ) => Effect.runPromise(bestEffort(store.refuse(relay.requestHash, code, now(), sent)));

    /**
     * A gateway's receipt for a stream its client cut short: checked (its signature, this node, one
     * of this node's gateways), then against the ledger (see `RelayStore.settleCut`): a streamed
     * relay of the receipt's gateway and session, no more output than the node sent, and for a
     * stream the node had finished meanwhile no more weight than it had and no claim of its session
     * possibly built (a unary relay takes only a receipt of nothing, under that same condition). The relay then claims the gateway's leaf and weight; the answer says whether
     * the row changed (`settled`) or already said so (`unchanged`). A refusal's detail says which
     * rule the receipt broke. A stream still being served here or by another worker, or one
     * another worker has not committed yet, is `UNKNOWN_RELAY`, which a gateway retries. A stream
     * this node was serving when its process died is recorded cut, with the most its request
     * allowed (`RelayStore.streamOpening`), and takes its receipt within that.
     */
    const gateways = options.admission.gateways;
    const grace = sessionGrace(options.admission.session);
    // A claim is built once a session's grace has passed: a finished stream's row changes only
    // well before that (the claim loop's clock is this one).
    const claimsFrom = (sessionEnd: number) => sessionEnd + grace - Math.min(grace / 2, CLAIM_MARGIN_MS);
    const settleCut = (input: unknown): Effect.Effect<CutSettled, EnvelopeRejected | NodeStoreError> =>
      Effect.suspend(() => {
        const checked = verifyStreamCutReceipt(input, { nodeAddress: key.address });
        if (!checked.ok) return Effect.fail(EnvelopeRejected.of(checked.error));
        const receipt = checked.value;
        if (!gateways.has(receipt.gateway.address))
          return Effect.fail(
            new EnvelopeRejected({
              code: "UNKNOWN_GATEWAY",
              detail: `stream cut receipt is signed by ${receipt.gateway.address}, which is not one of this node's gateways`,
            }),
          );
        return Effect.flatMap(
          store.settleCut(
            {
              requestHash: receipt.requestHash,
              gatewayAddress: receipt.gateway.address,
              sessionId: receipt.sessionId,
              responseHash: receipt.chain,
              leafHash: bytesToHex(relayLeafHash(receipt.requestHash, receipt.chain)),
              outputTokens: receipt.outputTokens,
              computeUnits: receipt.computeUnits,
            },
            now(),
            claimsFrom,
          ),
          (result): Effect.Effect<CutSettled, EnvelopeRejected> => {
            if (result === "pending" || result === "unknown")
              return Effect.fail(
                new EnvelopeRejected({
                  code: "UNKNOWN_RELAY",
                  detail:
                    result === "pending"
                      ? `relay ${receipt.requestHash} is still being served`
                      : `relay ${receipt.requestHash} is not recorded here (yet)`,
                }),
              );
            if (typeof result === "object")
              return Effect.fail(
                new EnvelopeRejected({
                  code: "CUT_RECEIPT_REFUSED",
                  detail: `relay ${receipt.requestHash} of session ${receipt.sessionId} cannot take this receipt: ${refusalDetail[result.refused]}`,
                }),
              );
            if (result === "settled") metrics.cutsSettled.inc({ gateway: receipt.gateway.address });
            return Effect.succeed({ status: result });
          },
        );
      });

    /**
     * A streamed relay. Its opening (seat, engine request, first piece, retries) is the pool's
     * Effect, run in a scope that the stream closes when it ends, and followed in callbacks: no fiber
     * around it, no Effect step of the relay's own before its first chunk. The per-piece path is a
     * plain loop — tally, sign, hand on — under one timer: the tier's timeout as a stall limit between
     * pieces. A gateway that goes away (`signal`) aborts the opening, or the engine request once
     * open; the relay, not delivered whole, is never claimed.
     */
    const openStream = (
      relay: AdmittedRelay,
      pool: BackendPool,
      signal: AbortSignal | undefined,
      done: (exit: StreamOpened) => void,
    ): void => {
      const signer = new RelayStreamSigner(relay.requestHash, key, options.streamHeads);
      const serviceId = relay.service.spec.id;
      // What the gateway received, by the protocol's one rule: the claim counts the same.
      const tally = new DeliveredTally(relay);
      const failed = (failure: unknown): RelayStreamChunk => {
        if (failure instanceof OffChoices) engineFaults.note(serviceId, failure.fault);
        const cause =
          failure instanceof OffChoices
            ? protocolError("BACKEND_ERROR", `the backend's stream ${failure.fault.detail}`)
            : backendFailure(asPoolError(serviceId, failure));
        const error = tally.outputTokens > 0 ? protocolError("STREAM_INTERRUPTED", cause.detail) : cause;
        metrics.relays.inc({ service: serviceId, outcome: error.code });
        return finalError(signer, error, tally.usage());
      };
      const op = relay.request.operation === "completions" ? "completions" : "chat.completions";
      const body = { ...relay.body, stream: true, stream_options: { include_usage: true } };
      const timeoutMs = relay.tier.timeoutMs;
      const controller = new AbortController();
      // The tier's timeout bounds the opening (seat, engine request, first piece) as it bounds
      // each wait for a piece after it: the same timer aborts the opening through `opening`.
      const opening = new AbortController();
      const deadline = new StreamDeadline({
        totalMs: Number.POSITIVE_INFINITY,
        idleMs: timeoutMs,
        onExpire: () => {
          const timeout = new BackendTimeout({ backend: serviceId, timeoutMs });
          opening.abort(timeout);
          controller.abort(timeout);
        },
      });
      const onGone = () => controller.abort(GATEWAY_GONE);
      signal?.addEventListener("abort", onGone, { once: true });
      // Made as the opening starts, in its fiber (which starts at once): set before any release.
      let scope: Scope.CloseableScope | undefined;
      const release = (exit: Exit.Exit<unknown, unknown>) => {
        deadline.clear();
        signal?.removeEventListener("abort", onGone);
        return Scope.close(scope as Scope.CloseableScope, exit);
      };
      // Its row, before any chunk leaves: a node killed mid-stream leaves it recorded cut, with
      // the most its request allows, for the gateway's cut receipt to pay what reached the client
      // (`RelayStore.streamOpening`). One row per stream, queued before the engine is opened so
      // that its group commit runs while the engine starts; waited for before the first chunk
      // and before any other row of the relay is written.
      const most = {
        inputTokens: relay.inputTokens,
        outputTokens: relay.maxOutputTokens,
        computeUnits: weightOf(
          relay.tier,
          { inputTokens: relay.inputTokens, outputTokens: relay.maxOutputTokens },
          0,
          options.weighting,
          relay.calls,
        ),
      };
      const rowWritten = store.streamOpening(relay.requestHash, most);
      // The deadline's one timer bounds the opening through a signal: no timer fiber, no fork. The
      // gateway leaving interrupts it.
      const opener = Effect.runFork(
        Effect.flatMap(Scope.make(), (made) => {
          scope = made;
          return Scope.extend(pool.open(op, body, opening.signal), made);
        }),
      );
      const leave = () => opener.unsafeInterruptAsFork(FiberId.none);
      if (signal?.aborted === true) leave();
      else signal?.addEventListener("abort", leave, { once: true });
      opener.addObserver((opened) => {
        signal?.removeEventListener("abort", leave);
        rowWritten.then((recordFailure) => {
          // The gateway left while the stream opened: recorded cut once its row is in.
          if (signal?.aborted === true || (Exit.isFailure(opened) && Cause.isInterruptedOnly(opened.cause))) {
            const cut = Effect.zipRight(
              release(Exit.interrupt(FiberId.none)),
              cutOff(relay, "STREAM_INTERRUPTED"),
            );
            return afterWrites(cut, () => Exit.interrupt(FiberId.none), done);
          }
          if (Exit.isFailure(opened)) {
            const failure = Cause.failureOption(opened.cause);
            // A defect of the opening: its scope closed, the defect handed on.
            if (Option.isNone(failure))
              return afterWrites(
                release(opened),
                () => Exit.failCause(Cause.stripFailures(opened.cause)),
                done,
              );
            if (recordFailure !== undefined) writeFailed(recordFailure);
            const last = failed(failure.value);
            const refused = store.refuse(
              relay.requestHash,
              last.final?.error?.code ?? "BACKEND_ERROR",
              now(),
            );
            return afterWrites(
              Effect.zipRight(release(opened), bestEffort(refused)),
              () => Exit.succeed([last]),
              done,
            );
          }
          if (recordFailure !== undefined) {
            writeFailed(recordFailure);
            const error = protocolError("INTERNAL", "the node cannot record relays now; try another node");
            metrics.relays.inc({ service: serviceId, outcome: error.code });
            const refused = store.refuse(relay.requestHash, error.code, now());
            return afterWrites(
              Effect.zipRight(release(Exit.fail(recordFailure)), bestEffort(refused)),
              () => Exit.succeed([finalError(signer, error, tally.usage())]),
              done,
            );
          }
          const engine = opened.value;
          const pieces = abortableIterator(engine, controller.signal);
          const engineReady = engine.nextReady;
          // Pieces the engine already sent, none once the gateway went away or the time ran out.
          const ready =
            engineReady === undefined
              ? undefined
              : () => (controller.signal.aborted ? undefined : engineReady.call(engine));
          // A reader that leaves before its first read never runs the generator's body (nor its
          // `finally`): the stream is then ended here, the same way.
          const abandon = async () => {
            countCut(serviceId);
            await refuse(relay, "STREAM_INTERRUPTED");
            await Effect.runPromise(release(Exit.interrupt(FiberId.none)));
          };
          const chunks = servedChunks({
            relay,
            pieces,
            ready,
            deadline,
            signer,
            tally,
            choices: new StreamedChoices(relay.choices),
            text: engineAnswer(relay, true),
            failed,
            answered: (usage, computeUnits, chain) =>
              Effect.runPromise(
                store
                  .answer(
                    relay.requestHash,
                    {
                      responseHash: chain,
                      leafHash: bytesToHex(relayLeafHash(relay.requestHash, chain)),
                      inputTokens: usage.inputTokens,
                      outputTokens: usage.outputTokens,
                      computeUnits,
                    },
                    now(),
                  )
                  .pipe(
                    Effect.as(true),
                    Effect.catchAll((e) =>
                      Effect.sync(() => {
                        answerUnrecorded(serviceId, e);
                        return false;
                      }),
                    ),
                  ),
              ),
            refuse: (code, sent) => refuse(relay, code, sent),
            release: (exit) => Effect.runPromise(release(exit)),
            weighting: options.weighting,
            onOk: () => metrics.relays.inc({ service: serviceId, outcome: "ok" }),
            onCut: () => countCut(serviceId),
          });
          done(Exit.succeed(new OpenStream(chunks, abandon, () => serving.leave())));
        });
      });
    };

    return {
      relay,
      relayNow,
      relayStream,
      relayStreamNow,
      settleCut,
      drain: Effect.promise(() => serving.idle()),
      inFlight: () => serving.size,
    };
  }
}

/** A step's outcome decided now, or the Effect that decides it, as an Effect. */
const asEffect = <A, E>(outcome: A | Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.isEffect(outcome) ? outcome : Effect.succeed(outcome);

/** The cancel of an outcome already handed over: nothing left to cancel. */
const noCancel = () => undefined;

/** Leaves an Effect as it is (`restore` where nothing is masked). */
const identity = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => effect;

/** The `service` label of relays refused for a service this node does not serve. */
const OTHER_SERVICE = "other";

function noBackend(serviceId: string): ProtocolError {
  return protocolError("BACKEND_UNAVAILABLE", `no backend is configured for ${serviceId}`);
}

/** What a gateway is told of why its cut receipt was refused (see `RelayStore.settleCut`). */
const refusalDetail: Record<CutRefusal, string> = {
  "another gateway": "it was served for another gateway",
  "another session": "it belongs to another session",
  unary:
    "it was a unary relay, not a stream, so no client cut it short and no share of it can be paid: only a receipt of nothing (an attempt the gateway gave up on) is taken for it; its answer stays in the claim as the node signed it",
  "no head":
    "the receipt pays compute units under the request hash, which no signed head is; name the last head that covered what the client read",
  "settled otherwise": "an earlier receipt settled it with another leaf or weight",
  "not cut": "it failed for a reason of its own, not a cut, and is in no claim",
  "more than recorded":
    "the receipt pays more output tokens than the node sent, or more compute units than the whole call weighs",
  "claim may be built": "its session's claim may already be built, so its leaf no longer changes",
};

/** A text answer's usage, its output cut to what its text can hold (`EngineAnswer.usage`). */
const textUsage = (usage: RelayUsage, text: EngineAnswer | undefined) =>
  text === undefined ? usage : text.usage(usage);

/**
 * The checks of a text relay's engine answer before the node signs it (`engine-answer.ts`). A
 * chat's tool calls are held to the limit the gateway computes from the same payload and from the
 * `forcedToolChoice` this node announces for the service (its backends' capabilities).
 */
function engineAnswer(relay: AdmittedRelay, stream: boolean): EngineAnswer {
  const operation = relay.request.operation;
  return new EngineAnswer({
    maxOutputTokens: relay.maxOutputTokens,
    choices: relay.choices,
    echoes: operation === "completions" && relay.body.echo === true,
    stream,
    ...(operation === "chat.completions"
      ? {
          toolCalls: toolCallLimit(
            relay.request.payload as Record<string, unknown>,
            relay.service.capabilities.forcedToolChoice,
          ),
        }
      : {}),
  });
}

/** Why a unary text answer must not be signed: its choices not the ones asked for, or a rule of {@link EngineAnswer}. */
function choicesFault(
  payload: unknown,
  choices: number,
  text: EngineAnswer | undefined,
): EngineAnswerFault | undefined {
  const mismatch = answerChoicesMismatch(payload, choices);
  return mismatch === undefined ? text?.add(payload) : { rule: "CHOICES", detail: mismatch };
}

/** A warning per service and broken rule of its engine at most this often (`EngineFaultLog`). */
const ENGINE_FAULT_LOG_MS = 60_000;

/** How long before a session's claims may be built a finished stream's row stops changing (see `settleCut`). */
const CLAIM_MARGIN_MS = 10_000;

/** The reason a stream's controller aborts when the gateway goes away. */
const GATEWAY_GONE = Symbol("gateway gone");

/** An engine's stream piece the node must not sign (`EngineAnswer`), or a stream short of its choices. */
class OffChoices {
  constructor(readonly fault: EngineAnswerFault) {}
}

/** A streamed relay's chunks: an open stream, or one final chunk. */
type StreamChunks = Iterable<RelayStreamChunk> | AsyncIterable<RelayStreamChunk>;

/** How a stream's opening ended: its chunks, or its envelope refused (or a defect, or the gateway gone). */
type StreamOpened = Exit.Exit<StreamChunks, EnvelopeRejected | NodeStoreError>;

/** A unary relay's state its end reads: the relay once it is served, and whether it is settling. */
interface UnaryCall {
  /** The admitted relay, from when its backend call is about to start. */
  serving: AdmittedRelay | undefined;
  /** Its backend's answer is in: it is answered or refused whatever the gateway does. */
  settling: boolean;
}

/** What a served stream's chunk loop reads and reports through (see {@link servedChunks}). */
interface ServedStream {
  readonly relay: AdmittedRelay;
  readonly pieces: AsyncIterator<StreamPiece>;
  /** The engine's pieces already sent (see `PieceIterator.nextReady`), where its backend tells. */
  readonly ready: (() => StreamPiece | undefined) | undefined;
  readonly deadline: StreamDeadline;
  readonly signer: RelayStreamSigner;
  readonly tally: DeliveredTally;
  readonly choices: StreamedChoices;
  /** The gateway's checks of the text that the node runs before it signs a piece (`engine-answer.ts`). */
  readonly text: EngineAnswer;
  /** The final chunk that ends the stream on `failure`. */
  readonly failed: (failure: unknown) => RelayStreamChunk;
  /**
   * Records the relay answered whole (its chain head and usage) before the last chunk goes out;
   * `false` when the row could not be written.
   */
  readonly answered: (usage: RelayUsage, computeUnits: number, chain: string) => Promise<boolean>;
  /**
   * Records the relay failed with `code`; `sent`: what went out of a stream cut short, and the
   * weight of the whole call (the most a gateway's cut receipt may pay for it).
   */
  readonly refuse: (
    code: ProtocolError["code"],
    sent?: RelayUsage & { readonly computeUnits: number },
  ) => Promise<void>;
  /** Closes the stream's scope (its seat and engine request) with the loop's exit. */
  readonly release: (exit: Exit.Exit<unknown, unknown>) => Promise<void>;
  readonly weighting: RelayWeighing;
  readonly onOk: () => void;
  /** The gateway went away (or stopped reading) before the stream was whole. */
  readonly onCut: () => void;
}

/**
 * The per-piece path of a streamed relay, a plain loop: tally, fold in what the engine already
 * sent (`coalesce.ts`), sign, hand on. A module-level generator, not one made per stream: a
 * generator function created per call keeps what it closes over alive until a full collection
 * (`tooling/bench`, thirteenth round).
 */
async function* servedChunks(s: ServedStream): AsyncGenerator<RelayStreamChunk> {
  const { relay, pieces, ready, deadline, signer, tally, choices, text } = s;
  let exit: Exit.Exit<unknown, unknown> = Exit.void;
  let settled = false;
  let gatewayGone = false;
  let threw = false;
  try {
    let failure: unknown;
    // A piece read while folding that could not join the chunk before it: the next chunk's first.
    let carried: StreamPiece | undefined;
    for (;;) {
      let piece: StreamPiece;
      if (carried !== undefined) {
        piece = carried;
        carried = undefined;
      } else {
        let next: IteratorResult<StreamPiece>;
        try {
          next = await pieces.next();
        } catch (cause) {
          failure = cause;
          break;
        }
        if (next.done === true) {
          // Every choice asked for (prompts × n) came, or the stream does not end `ok`.
          if (choices.seen < relay.choices)
            failure = new OffChoices({
              rule: "CHOICES",
              detail: `delivered ${choices.seen} of the ${relay.choices} choices asked for`,
            });
          break;
        }
        piece = next.value;
      }
      deadline.touch();
      const outOfRange = relay.choices > 0 ? choices.add(piece) : undefined;
      const off =
        outOfRange === undefined ? text.add(piece) : { rule: "CHOICES" as const, detail: outOfRange };
      if (off !== undefined) {
        failure = new OffChoices(off);
        break;
      }
      tally.add(piece);
      let chunk = piece;
      // A piece folded in that the node must not sign: the chunk before it still goes out.
      let lie: OffChoices | undefined;
      for (let folded = 1; ready !== undefined && folded < MAX_FOLDED_PIECES; folded++) {
        const more = ready();
        if (more === undefined) break;
        const both = foldPiece(chunk, more);
        if (both === undefined) {
          carried = more;
          break;
        }
        const wrong = text.add(more);
        if (wrong !== undefined) {
          lie = new OffChoices(wrong);
          break;
        }
        // Same choice as the chunk's, already counted in `choices`; its text counted here.
        tally.add(more);
        chunk = both;
      }
      yield signer.next(chunk);
      if (lie !== undefined) {
        failure = lie;
        break;
      }
    }
    if (failure === undefined) {
      tally.complete();
      const usage = text.usage(tally.usage());
      const computeUnits = weightOf(relay.tier, usage, 0, s.weighting, relay.calls);
      const last = signer.finish(null, { usage, computeUnits, outcome: "ok" });
      if (!(await s.answered(usage, computeUnits, last.chain))) {
        // Not recorded, so never claimed: the signed `ok` end is withheld, and the gateway takes
        // the stream for one cut short (its client billed for what reached it).
        exit = Exit.fail(new Error("the relay ledger failed to write"));
        return;
      }
      settled = true;
      s.onOk();
      yield last;
      return;
    }
    exit = Exit.fail(failure);
    if (failure === GATEWAY_GONE) {
      gatewayGone = true;
      return;
    }
    const last = s.failed(failure);
    settled = true;
    await s.refuse(last.final?.error?.code ?? "BACKEND_ERROR");
    yield last;
  } catch (error) {
    // A fault of the node's own (a piece it cannot sign, a ledger call that threw): not a cut.
    threw = true;
    throw error;
  } finally {
    // The gateway went away mid-stream: the relay was not delivered whole, so it is not claimed.
    if (!settled) {
      // Not a ledger row that failed (counted `unrecorded` where it failed): the gateway left.
      if (gatewayGone || (Exit.isSuccess(exit) && !threw)) s.onCut();
      if (Exit.isSuccess(exit)) exit = Exit.interrupt(FiberId.none);
      // What went out: the most the gateway's cut receipt, if one comes, may pay for.
      await s.refuse("STREAM_INTERRUPTED", {
        ...tally.usage(),
        computeUnits: relay.tier.computeUnitsPerRelay * Math.max(1, relay.calls),
      });
    }
    await s.release(exit);
  }
}
