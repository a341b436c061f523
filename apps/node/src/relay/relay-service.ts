import {
  bytesToHex,
  createRelayResponse,
  DeliveredTally,
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
  relayResponseHash,
} from "@pocket-ai/protocol";
import type { Logger } from "@pocket-ai/runtime";
import { Context, Duration, Effect, Either, Exit, Layer, Stream } from "effect";
import { NodeSettings } from "../app/node-settings.js";
import { BackendPools } from "../app/served-services.js";
import {
  type BackendBusy,
  type BackendError,
  BackendTimeout,
  type StreamPiece,
} from "../backends/backend.js";
import type { BackendPool } from "../backends/pool/backend-pool.js";
import { NodeClock } from "../clock/node-clock.js";
import { RelayLedger } from "../db/node-database.js";
import type { NodeStoreError } from "../db/node-store-error.js";
import type { RelayStore } from "../db/relay-store.js";
import { NodeIdentity } from "../identity/node-identity.js";
import type { NodeMetrics } from "../metrics/node-metrics.js";
import { Metrics } from "../metrics/node-metrics.js";
import { type AdmissionContext, type AdmittedRelay, admitRelay } from "./admission.js";
import { packEmbeddingAnswer } from "./embedding-answer.js";
import { backendFailure, EnvelopeRejected } from "./relay-errors.js";
import { weightOf } from "./relay-usage.js";
import { Membership } from "./session-membership.js";

export interface RelayServiceOptions {
  readonly key: KeyPair;
  readonly admission: Omit<AdmissionContext, "stream">;
  readonly pools: ReadonlyMap<string, BackendPool>;
  readonly store: RelayStore;
  readonly weighting: RelayWeighing;
  readonly metrics: NodeMetrics;
  readonly log: Logger;
}

/**
 * Serves relays: admits (every check before any work), runs the backend through its pool with
 * the tier's timeout, signs the outcome — success or a coded error — and records the relay's
 * hashes and weight before the response leaves the node.
 */
export class RelayService extends Context.Tag("node/RelayService")<
  RelayService,
  {
    readonly relay: (input: unknown) => Effect.Effect<RelayResponse, EnvelopeRejected | NodeStoreError>;
    readonly relayStream: (
      input: unknown,
    ) => Effect.Effect<Stream.Stream<RelayStreamChunk>, EnvelopeRejected | NodeStoreError>;
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
      return RelayService.make({
        key,
        store,
        metrics,
        pools,
        log,
        weighting: config.weighting,
        admission: {
          nodeAddress: key.address,
          gateways: new Set(config.gateways.map((g) => g.address)),
          session: config.session,
          services,
          store,
          inSession: (request) => membership.check(request),
          now: clock.now,
        },
      });
    }),
  );

  static make(options: RelayServiceOptions): Context.Tag.Service<RelayService> {
    const { key, store, metrics } = options;
    const now = options.admission.now;
    // Bookkeeping of a relay already answered or refused: a failed write is logged, and the relay
    // (not recorded as answered) is simply never claimed.
    const bestEffort = (write: Effect.Effect<void, NodeStoreError>) =>
      write.pipe(
        Effect.catchAll((e) =>
          Effect.sync(() => options.log.error("relay ledger write failed", { error: e.message })),
        ),
      );

    const signError = (request: RelayRequest, requestHash: string, error: ProtocolError): RelayResponse => {
      metrics.relays.inc({ service: request.header.serviceId, outcome: error.code });
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

    const runUnary = (relay: AdmittedRelay, pool: BackendPool) => {
      const op = relay.request.operation;
      const started = performance.now();
      const call = (() => {
        switch (op) {
          case "completions":
            return pool.completions(relay.body);
          case "chat.completions":
            return pool.chatCompletions(relay.body);
          case "images.generations":
            return pool.imagesGenerations(relay.body);
          case "images.edits":
            return pool.imagesEdits(relay.body);
          case "embeddings": {
            const expected = {
              ...(relay.embeddings ?? { inputs: 0, dimensions: 0 }),
              inputTokens: relay.inputTokens,
            };
            return pool
              .embeddings(relay.body)
              .pipe(Effect.flatMap((payload) => packEmbeddingAnswer(payload, expected, pool.serviceId)));
          }
        }
      })();
      return call.pipe(
        Effect.timeoutFail({
          duration: Duration.millis(relay.tier.timeoutMs),
          onTimeout: () =>
            new BackendTimeout({ backend: relay.service.spec.id, timeoutMs: relay.tier.timeoutMs }),
        }),
        Effect.tap(() =>
          Effect.sync(() =>
            metrics.relaySeconds.observe(
              { service: relay.service.spec.id, operation: op },
              (performance.now() - started) / 1000,
            ),
          ),
        ),
      );
    };

    const relay = (input: unknown) =>
      Effect.gen(function* () {
        const admission = yield* admitRelay(input, { ...options.admission, stream: false });
        if (admission.kind === "unverifiable") return yield* EnvelopeRejected.of(admission.error);
        if (admission.kind === "refused")
          return signError(admission.request, admission.requestHash, admission.error);
        const { relay } = admission;
        const pool = options.pools.get(relay.service.spec.id);
        const outcome =
          pool === undefined ? Either.left(undefined) : yield* Effect.either(runUnary(relay, pool));
        if (Either.isLeft(outcome)) {
          const error =
            outcome.left === undefined ? noBackend(relay.service.spec.id) : backendFailure(outcome.left);
          yield* store.refuse(relay.requestHash, error.code, now());
          return signError(relay.request, relay.requestHash, error);
        }
        const payload = outcome.right;
        const usage: RelayUsage =
          relay.imageUnits > 0
            ? { inputTokens: 0, outputTokens: 0, images: relay.imageUnits }
            : relay.embeddings !== undefined
              ? { inputTokens: relay.inputTokens, outputTokens: 0 }
              : DeliveredTally.ofAnswer(payload, relay).usage();
        const computeUnits = weightOf(relay.tier, usage, relay.imageUnits, options.weighting, relay.calls);
        const signed = yield* Effect.try(() =>
          createRelayResponse(
            {
              requestHash: relay.requestHash,
              header: relay.request.header,
              outcome: "ok",
              payload,
              usage,
              computeUnits,
            },
            key,
          ),
        ).pipe(Effect.either);
        if (Either.isLeft(signed)) {
          yield* store.refuse(relay.requestHash, "BACKEND_ERROR", now());
          return signError(
            relay.request,
            relay.requestHash,
            protocolError("BACKEND_ERROR", "the backend's answer is not plain JSON and cannot be signed"),
          );
        }
        const responseHash = relayResponseHash(signed.right);
        yield* store.answer(
          relay.requestHash,
          {
            responseHash,
            leafHash: bytesToHex(relayLeafHash(relay.requestHash, responseHash)),
            inputTokens: usage.inputTokens,
            outputTokens: usage.outputTokens,
            computeUnits,
          },
          now(),
        );
        metrics.relays.inc({ service: relay.service.spec.id, outcome: "ok" });
        return signed.right;
      });

    const relayStream = (input: unknown) =>
      Effect.gen(function* () {
        const admission = yield* admitRelay(input, { ...options.admission, stream: true });
        if (admission.kind === "unverifiable") return yield* EnvelopeRejected.of(admission.error);
        if (admission.kind === "refused") {
          const signer = new RelayStreamSigner(admission.requestHash, key);
          metrics.relays.inc({ service: admission.request.header.serviceId, outcome: admission.error.code });
          return Stream.make(finalError(signer, admission.error, { inputTokens: 0, outputTokens: 0 }));
        }
        return streamRelay(admission.relay);
      });

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

    const streamRelay = (relay: AdmittedRelay): Stream.Stream<RelayStreamChunk> => {
      const signer = new RelayStreamSigner(relay.requestHash, key);
      const pool = options.pools.get(relay.service.spec.id);
      const serviceId = relay.service.spec.id;
      const op = relay.request.operation === "completions" ? "completions" : "chat.completions";
      const body = { ...relay.body, stream: true, stream_options: { include_usage: true } };
      // What the gateway received, by the protocol's one rule: the claim counts the same.
      const tally = new DeliveredTally(relay);
      const source: Stream.Stream<StreamPiece, BackendError | BackendBusy | "no-backend"> =
        pool === undefined ? Stream.fail("no-backend" as const) : pool.stream(op, body);
      const signedPieces = source.pipe(
        Stream.timeoutFail(
          () => new BackendTimeout({ backend: serviceId, timeoutMs: relay.tier.timeoutMs }),
          Duration.millis(relay.tier.timeoutMs),
        ),
        Stream.map((piece) => {
          tally.add(piece);
          return signer.next(piece);
        }),
      );
      const finish = Stream.fromEffect(
        Effect.suspend(() => {
          tally.complete();
          const usage = tally.usage();
          const computeUnits = weightOf(relay.tier, usage, 0, options.weighting, relay.calls);
          const last = signer.finish(null, { usage, computeUnits, outcome: "ok" });
          const answered = store.answer(
            relay.requestHash,
            {
              responseHash: last.chain,
              leafHash: bytesToHex(relayLeafHash(relay.requestHash, last.chain)),
              inputTokens: usage.inputTokens,
              outputTokens: usage.outputTokens,
              computeUnits,
            },
            now(),
          );
          metrics.relays.inc({ service: serviceId, outcome: "ok" });
          return Effect.as(bestEffort(answered), last);
        }),
      );
      return Stream.concat(signedPieces, finish).pipe(
        Stream.catchAll((failure) => {
          const error =
            failure === "no-backend"
              ? noBackend(serviceId)
              : tally.outputTokens > 0
                ? protocolError("STREAM_INTERRUPTED", backendFailure(failure).detail)
                : backendFailure(failure);
          metrics.relays.inc({ service: serviceId, outcome: error.code });
          return Stream.fromEffect(
            Effect.as(
              bestEffort(store.refuse(relay.requestHash, error.code, now())),
              finalError(signer, error, tally.usage()),
            ),
          );
        }),
        // The gateway went away mid-stream: the backend request is aborted by interruption; the
        // relay was not delivered whole, so it is not claimed.
        Stream.ensuringWith((exit) =>
          Exit.isInterrupted(exit) && !signer.finished
            ? bestEffort(store.refuse(relay.requestHash, "STREAM_INTERRUPTED", now()))
            : Effect.void,
        ),
      );
    };

    return { relay, relayStream };
  }
}

function noBackend(serviceId: string): ProtocolError {
  return protocolError("BACKEND_UNAVAILABLE", `no backend is configured for ${serviceId}`);
}
