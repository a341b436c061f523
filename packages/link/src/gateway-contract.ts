import { type ClaimAck, GATEWAY_PROCEDURES, type ProofAck, type RegistrationAck } from "@pocket-ai/protocol";
import { createTRPCClient, httpLink } from "@trpc/client";
import type { Effect } from "effect";
import { z } from "zod";
import type { LinkFetch } from "./node-contract.js";
import type { CodedFailure } from "./pocket-code.js";
import { runInContext } from "./run-procedure.js";
import { publicProcedure, router } from "./trpc.js";

/** Where an announcement came from: the network the gateway's context read (see `LinkContext`). */
export interface AnnounceSource {
  readonly network: string | undefined;
}

/**
 * What a gateway implements for nodes: a signed announcement, claim or proof in (parsed and
 * verified by the protocol), its acknowledgement out. `R` is what the gateway's runtime provides.
 */
export interface GatewayNodeApi<R = never> {
  readonly announce: (
    input: unknown,
    source: AnnounceSource,
  ) => Effect.Effect<RegistrationAck, CodedFailure, R>;
  readonly submitClaim: (input: unknown) => Effect.Effect<ClaimAck, CodedFailure, R>;
  readonly submitProof: (input: unknown) => Effect.Effect<ProofAck, CodedFailure, R>;
}

const pathOf = (procedure: string) => procedure.split(".") as [string, string];
const [nodes, announce] = pathOf(GATEWAY_PROCEDURES.announce) as ["nodes", "announce"];
const [settlement, submitClaim] = pathOf(GATEWAY_PROCEDURES.submitClaim) as ["settlement", "submitClaim"];
const [, submitProof] = pathOf(GATEWAY_PROCEDURES.submitProof) as ["settlement", "submitProof"];

/**
 * The node-facing part of a gateway's API (paths are `GATEWAY_PROCEDURES`'): `nodes.announce`,
 * `settlement.submitClaim`, `settlement.submitProof`. A gateway merges it with its own routers.
 */
export function makeGatewayNodeRouter<R>(impl: GatewayNodeApi<R>) {
  return router({
    [nodes]: router({
      [announce]: publicProcedure
        .input(z.unknown())
        .mutation(({ ctx, input, signal }) =>
          runInContext(ctx, impl.announce(input, { network: ctx.clientNetwork }), signal),
        ),
    }),
    [settlement]: router({
      /** A signed `ClaimSubmission` → `ClaimAck`. */
      [submitClaim]: publicProcedure
        .input(z.unknown())
        .mutation(({ ctx, input, signal }) => runInContext(ctx, impl.submitClaim(input), signal)),
      /** A signed `ProofSubmission` → `ProofAck`. */
      [submitProof]: publicProcedure
        .input(z.unknown())
        .mutation(({ ctx, input, signal }) => runInContext(ctx, impl.submitProof(input), signal)),
    }),
  });
}

/** The node-facing gateway router's type, for typed clients. */
export type GatewayNodeRouter = ReturnType<typeof makeGatewayNodeRouter<never>>;

/** A typed client for a gateway as a node sees it (announce, claims, proofs). */
export function makeGatewayClient(url: string, options: { readonly fetch?: LinkFetch } = {}) {
  return createTRPCClient<GatewayNodeRouter>({
    links: [httpLink({ url, ...(options.fetch === undefined ? {} : { fetch: options.fetch as never }) })],
  });
}

/** A typed client for a gateway's node-facing API. */
export type GatewayClient = ReturnType<typeof makeGatewayClient>;
