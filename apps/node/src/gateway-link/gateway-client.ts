import {
  ClaimAck,
  type ClaimSubmission,
  GATEWAY_PROCEDURES,
  type NodeAnnouncement,
  ProofAck,
  type ProofSubmission,
  RegistrationAck,
} from "@pocket-ai/protocol";
import { createTRPCUntypedClient, httpLink, TRPCClientError } from "@trpc/client";
import { Data, Effect } from "effect";
import type { z } from "zod";
import { gatewayCallRetry, gatewayCallTimeout } from "../schedules.js";

/** A call to a gateway failed: unreachable, timed out, refused with a code, or answered off-schema. */
export class GatewayCallError extends Data.TaggedError("GatewayCallError")<{
  readonly gateway: string;
  readonly procedure: string;
  /** The protocol code the gateway refused with, when it did. */
  readonly pocketCode?: string | undefined;
  readonly reason: string;
}> {
  override get message(): string {
    return `${this.procedure} at ${this.gateway}: ${this.reason}`;
  }
}

export interface GatewayClient {
  readonly url: string;
  announce(message: NodeAnnouncement): Effect.Effect<RegistrationAck, GatewayCallError>;
  submitClaim(message: ClaimSubmission): Effect.Effect<ClaimAck, GatewayCallError>;
  submitProof(message: ProofSubmission): Effect.Effect<ProofAck, GatewayCallError>;
}

/**
 * A gateway seen from a node. The gateway's answers are validated with the protocol's schemas —
 * a node trusts no shape it did not check. Transport faults are retried a few times; a coded
 * refusal is not (the same message would be refused again).
 */
export function makeGatewayClient(url: string): GatewayClient {
  const client = createTRPCUntypedClient({ links: [httpLink({ url })] });
  const call = <S extends z.ZodType>(procedure: string, input: unknown, schema: S) =>
    Effect.tryPromise({
      try: (signal) => client.mutation(procedure, input, { signal }),
      catch: (e) => {
        const pocketCode =
          e instanceof TRPCClientError
            ? ((e.data as { pocketCode?: string } | undefined)?.pocketCode ?? undefined)
            : undefined;
        return new GatewayCallError({ gateway: url, procedure, pocketCode, reason: (e as Error).message });
      },
    }).pipe(
      Effect.timeoutFail({
        duration: gatewayCallTimeout,
        onTimeout: () => new GatewayCallError({ gateway: url, procedure, reason: "timed out" }),
      }),
      Effect.retry({ schedule: gatewayCallRetry, while: (e) => e.pocketCode === undefined }),
      Effect.flatMap((answer) => {
        const parsed = schema.safeParse(answer);
        return parsed.success
          ? Effect.succeed(parsed.data as z.output<S>)
          : Effect.fail(
              new GatewayCallError({
                gateway: url,
                procedure,
                reason: `answer off-schema: ${parsed.error.issues[0]?.message}`,
              }),
            );
      }),
    );
  return {
    url,
    announce: (m) => call(GATEWAY_PROCEDURES.announce, m, RegistrationAck),
    submitClaim: (m) => call(GATEWAY_PROCEDURES.submitClaim, m, ClaimAck),
    submitProof: (m) => call(GATEWAY_PROCEDURES.submitProof, m, ProofAck),
  };
}
