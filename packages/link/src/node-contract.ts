import {
  NODE_PROCEDURES,
  type NodeServiceOffer,
  type RelayResponse,
  type RelayStreamChunk,
} from "@pocket-ai/protocol";
import { createTRPCClient, httpBatchStreamLink, httpLink, splitLink } from "@trpc/client";
import type { Effect, Stream } from "effect";
import { z } from "zod";
import type { CodedFailure } from "./pocket-code.js";
import { runInContext, streamInContext } from "./run-procedure.js";
import { publicProcedure, router } from "./trpc.js";

/**
 * What a node says about itself: identity, the services it offers (as announced) with the
 * backends behind each, the hardware and how it weighs relays. Gateways show it; the evaluator
 * tests the claims it makes.
 */
export interface NodeInfo {
  readonly address: string;
  readonly publicKey: string;
  readonly software: { readonly name: string; readonly version: string };
  readonly services: readonly (NodeServiceOffer & {
    readonly backends: readonly { readonly kind: string; readonly id: string }[];
  })[];
  readonly hardware: { readonly gpu: string; readonly vramGb: number; readonly cpuOnly: boolean };
  readonly weighting: "per-call" | "per-token";
  /** Set when any service runs on the built-in development backend, so nobody mistakes it for a real model. */
  readonly developmentBackend?: string;
}

/** Whether a node can serve: at least one healthy backend; each backend's health by id. */
export interface NodeHealth {
  readonly ok: boolean;
  readonly backends: Readonly<Record<string, boolean>>;
}

/**
 * What a node implements for gateways. `relay` and `relayStream` take the envelope as sent (the
 * protocol verifies it and answers with coded failures); `R` is what the node's runtime provides.
 */
export interface NodeRelayApi<R = never> {
  readonly relay: (input: unknown) => Effect.Effect<RelayResponse, CodedFailure, R>;
  /**
   * {@link relay} in plain callbacks, where a node serves some relays without a fiber (optional:
   * the link's direct path uses it when present). `done` is called once with the outcome: an
   * `Exit` is the answer (or failure) itself; any other Effect is run, and its exit is. The
   * returned function is called when the caller goes away before the answer is sent whole: before
   * the outcome, it cancels the relay (which then hands `done` whatever must still run); after
   * it, it does nothing (the Effect being run is interrupted instead).
   */
  readonly relayNow?: (
    input: unknown,
    done: (outcome: Effect.Effect<RelayResponse, CodedFailure, R>) => void,
  ) => () => void;
  /**
   * Opens a streamed relay. The chunks may come as an Effect stream or as a plain (async)
   * iterable — the cheaper per-chunk path; `signal` aborts when the caller goes away.
   */
  readonly relayStream: (
    input: unknown,
    signal?: AbortSignal,
  ) => Effect.Effect<RelayChunks<R>, CodedFailure, R>;
  /**
   * {@link relayStream} in plain callbacks, where a node opens some streams without a fiber
   * (optional: the link's direct path uses it when present). `done` is called once with the
   * opening's outcome: an `Exit` is the chunks (or failure) themselves; any other Effect is run,
   * and its exit is. `signal` aborts when the caller goes away: the node ends the opening itself
   * then, and still calls `done`.
   */
  readonly relayStreamNow?: (
    input: unknown,
    signal: AbortSignal,
    done: (outcome: Effect.Effect<RelayChunks<R>, CodedFailure, R>) => void,
  ) => void;
  /**
   * Takes a gateway's signed `StreamCutReceipt` (the input as sent): the streamed relay it names,
   * cut short when its client left, joins the node's claim for the part the gateway paid.
   */
  readonly settleCut: (input: unknown) => Effect.Effect<CutSettled, CodedFailure, R>;
  readonly info: () => NodeInfo;
  readonly health: () => NodeHealth;
}

/**
 * A node's answer to a stream cut receipt it took: `settled` when its ledger row changed to say
 * what the receipt says, `unchanged` when it said so already (the same receipt again, say after an
 * answer that was lost, or a receipt of nothing for a relay the node had recorded cut and left out
 * of its claim). A node before this answer was split says `settled` for both.
 */
export interface CutSettled {
  readonly status: "settled" | "unchanged";
}

/** The chunks of an opened streamed relay. */
export type RelayChunks<R = never> =
  | Stream.Stream<RelayStreamChunk, never, R>
  | Iterable<RelayStreamChunk>
  | AsyncIterable<RelayStreamChunk>;

/**
 * The node's tRPC API (paths are `NODE_PROCEDURES`'): `relay` (unary), `relayStream` (signed chunks
 * as they come; a client that goes away aborts the backend request), `settleCut` (a gateway's
 * receipt for a stream its client cut short), `info` and `health`. Inputs
 * are `unknown` on purpose: the protocol verifies envelopes itself and answers with coded errors.
 */
export function makeNodeRouter<R>(impl: NodeRelayApi<R>) {
  return router({
    [NODE_PROCEDURES.relay]: publicProcedure
      .input(z.unknown())
      .mutation(({ ctx, input, signal }) => runInContext(ctx, impl.relay(input), signal)),
    [NODE_PROCEDURES.relayStream]: publicProcedure
      .input(z.unknown())
      .mutation(({ ctx, input, signal }) => streamInContext(ctx, impl.relayStream(input, signal), signal)),
    [NODE_PROCEDURES.settleCut]: publicProcedure
      .input(z.unknown())
      .mutation(({ ctx, input, signal }) => runInContext(ctx, impl.settleCut(input), signal)),
    [NODE_PROCEDURES.info]: publicProcedure.query(() => impl.info()),
    [NODE_PROCEDURES.health]: publicProcedure.query(() => impl.health()),
  });
}

/** The node's router type, for typed clients. */
export type NodeRouter = ReturnType<typeof makeNodeRouter<never>>;

/**
 * A fetch-compatible function clients may use instead of the global `fetch` (a keep-alive socket
 * pool); tRPC calls it with a URL string and a plain init object.
 */
export type LinkFetch = (input: string, init?: never) => Promise<unknown>;

/**
 * A typed client for one node: `relay`, `info` and `health` over plain `httpLink`; `relayStream`
 * over `httpBatchStreamLink` with one operation per request, so each stream has its own HTTP
 * response (and its own abort).
 */
export function makeNodeClient(endpoint: string, options: { readonly fetch?: LinkFetch } = {}) {
  const fetchOption = options.fetch === undefined ? {} : { fetch: options.fetch as never };
  return createTRPCClient<NodeRouter>({
    links: [
      splitLink({
        condition: (op) => op.path === NODE_PROCEDURES.relayStream,
        true: httpBatchStreamLink({ url: endpoint, maxItems: 1, ...fetchOption }),
        false: httpLink({ url: endpoint, ...fetchOption }),
      }),
    ],
  });
}

/** A typed client for one node. */
export type NodeClient = ReturnType<typeof makeNodeClient>;
