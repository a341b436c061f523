/**
 * The tRPC procedure paths a gateway serves to nodes. A node calls them with the protocol's
 * signed messages and validates every answer with the protocol's schemas, so any gateway that
 * serves these paths — whoever wrote it — works with any node.
 *
 * | path | input | answer |
 * | --- | --- | --- |
 * | `nodes.announce` | {@link NodeAnnouncement} | {@link RegistrationAck} |
 * | `settlement.submitClaim` | {@link ClaimSubmission} | {@link ClaimAck} |
 * | `settlement.submitProof` | {@link ProofSubmission} | {@link ProofAck} |
 *
 * @example
 * ```ts
 * GATEWAY_PROCEDURES.announce; // "nodes.announce"
 * ```
 */
export const GATEWAY_PROCEDURES = {
  announce: "nodes.announce",
  submitClaim: "settlement.submitClaim",
  submitProof: "settlement.submitProof",
} as const;

/**
 * The tRPC procedure paths a node serves to gateways: a unary relay, a streaming relay (an
 * async iterable of signed chunks), and the node's self-description and health.
 *
 * @example
 * ```ts
 * NODE_PROCEDURES.relayStream; // "relayStream"
 * ```
 */
export const NODE_PROCEDURES = {
  relay: "relay",
  relayStream: "relayStream",
  settleCut: "settleCut",
  info: "info",
  health: "health",
} as const;
