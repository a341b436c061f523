import { isCodedAnswer, makeGatewayClient as makeLinkClient, pocketCodeOf } from "@pocket-ai/link";
import {
  ClaimAck,
  type ClaimSubmission,
  type ErrorCode,
  GATEWAY_PROCEDURES,
  ProofAck,
  type ProofSubmission,
  RegistrationAck,
  type SignedNodeAnnouncement,
} from "@pocket-ai/protocol";
import { peerText } from "@pocket-ai/runtime";
import { Context, Data, Effect, Layer } from "effect";
import type { z } from "zod";
import { NodeSettings } from "../app/node-settings.js";
import { gatewayCallRetry, gatewayCallTimeout } from "../schedules.js";

/** A call to a gateway failed: unreachable, timed out, refused with a code, or answered off-schema. */
export class GatewayCallError extends Data.TaggedError("GatewayCallError")<{
  readonly gateway: string;
  readonly procedure: string;
  /** The protocol code the gateway refused with, when it did (and this version knows it). */
  readonly pocketCode?: ErrorCode | undefined;
  /**
   * The gateway answered with a code, known to this version or newer: an answer, not a transport
   * fault, so the call is not sent again at once (the claim loop decides when to try again).
   */
  readonly coded?: boolean | undefined;
  readonly reason: string;
}> {
  override get message(): string {
    return `${this.procedure} at ${this.gateway}: ${this.reason}`;
  }
}

export interface GatewayClient {
  readonly url: string;
  announce(message: SignedNodeAnnouncement): Effect.Effect<RegistrationAck, GatewayCallError>;
  submitClaim(message: ClaimSubmission): Effect.Effect<ClaimAck, GatewayCallError>;
  submitProof(message: ProofSubmission): Effect.Effect<ProofAck, GatewayCallError>;
}

/**
 * A gateway seen from a node. The gateway's answers are validated with the protocol's schemas —
 * a node trusts no shape it did not check. Transport faults are retried a few times; a coded
 * refusal is not (the same message would be refused again).
 */
export function makeGatewayClient(url: string): GatewayClient {
  const client = makeLinkClient(url);
  const call = <S extends z.ZodType>(
    procedure: string,
    send: (signal: AbortSignal) => Promise<unknown>,
    schema: S,
  ) =>
    Effect.tryPromise({
      try: send,
      catch: (e) =>
        new GatewayCallError({
          gateway: url,
          procedure,
          pocketCode: pocketCodeOf(e),
          coded: isCodedAnswer(e),
          // The gateway's (or whatever answers at its URL) own text, logged: its beginning only.
          reason: peerText(e instanceof Error ? e.message : String(e)),
        }),
    }).pipe(
      Effect.timeoutFail({
        duration: gatewayCallTimeout,
        onTimeout: () => new GatewayCallError({ gateway: url, procedure, reason: "timed out" }),
      }),
      Effect.retry({ schedule: gatewayCallRetry, while: (e) => e.coded !== true }),
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
    announce: (m) =>
      call(
        GATEWAY_PROCEDURES.announce,
        (signal) => client.nodes.announce.mutate(m, { signal }),
        RegistrationAck,
      ),
    submitClaim: (m) =>
      call(
        GATEWAY_PROCEDURES.submitClaim,
        (signal) => client.settlement.submitClaim.mutate(m, { signal }),
        ClaimAck,
      ),
    submitProof: (m) =>
      call(
        GATEWAY_PROCEDURES.submitProof,
        (signal) => client.settlement.submitProof.mutate(m, { signal }),
        ProofAck,
      ),
  };
}

/** A client for each gateway in the config, by the gateway's address. */
export class GatewayClients extends Context.Tag("node/GatewayClients")<
  GatewayClients,
  ReadonlyMap<string, GatewayClient>
>() {
  static readonly layer = Layer.effect(
    GatewayClients,
    Effect.map(
      NodeSettings,
      ({ config }) => new Map(config.gateways.map((g) => [g.address, makeGatewayClient(g.url)] as const)),
    ),
  );
}
