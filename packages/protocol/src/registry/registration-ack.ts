import { z } from "zod";
import { ServiceId } from "../catalog/index.js";
import { PoktAddress } from "../crypto/index.js";
import { SessionParams } from "../session/index.js";

/**
 * One candidate node of a gateway's registry for a service: its address and when the gateway
 * first registered it (Unix ms).
 *
 * @example
 * ```ts
 * RegistryCandidate.parse({ address: node.address, registeredAt: 1_700_000_000_000 });
 * ```
 */
export const RegistryCandidate = z.strictObject({
  address: PoktAddress,
  registeredAt: z.int().nonnegative(),
});

/** A parsed {@link RegistryCandidate}. */
export type RegistryCandidate = z.infer<typeof RegistryCandidate>;

/**
 * A gateway's answer to a {@link NodeAnnouncement}, gateway → node:
 * - `accepted`: whether the node is now a candidate (`detail` says why not when it is not);
 * - `gatewayAddress`: the gateway's `pokt1…` address, the one the node's claims must name;
 * - `session` and `nodesPerSession`: how the gateway cuts sessions and how many nodes each selects;
 * - `registry`: per service the node announced, the gateway's current candidates, so the node can
 *   recompute with `selectSessionNodes` whether it belongs to a session before serving a relay;
 * - `nextAnnounceMs`: when to announce again (ms from now); a node that stops announcing ages out.
 *
 * Open to additions at its top level only: a field this version does not know (one a newer gateway
 * adds) is dropped when parsed, so a gateway may be upgraded before its nodes. The known fields
 * are still checked (a wrong type or a missing field is refused). `session` and each candidate
 * stay closed: they decide which nodes serve a session, and a node that ignored a change to them
 * would compute a different session than its gateway.
 *
 * @example
 * ```ts
 * const ack = RegistrationAck.parse(await gateway.registry.announce.mutate(announcement));
 * const candidates = ack.registry["llama-2-13b"] ?? [];
 * isNodeInSession(header.sessionId, candidates, ack.nodesPerSession, me.address);
 * ```
 */
export const RegistrationAck = z.object({
  accepted: z.boolean(),
  gatewayAddress: PoktAddress,
  session: SessionParams,
  nodesPerSession: z.int().min(1).max(1_000_000),
  registry: z.record(ServiceId, z.array(RegistryCandidate).max(100_000)),
  nextAnnounceMs: z.int().min(1).max(Number.MAX_SAFE_INTEGER),
  detail: z.string().max(1024).optional(),
});

/** A parsed {@link RegistrationAck}. */
export type RegistrationAck = z.infer<typeof RegistrationAck>;
