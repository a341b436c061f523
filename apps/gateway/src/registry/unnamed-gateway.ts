import type { NodeAnnouncement } from "@pocket-ai/protocol";
import { Effect } from "effect";

/** Nodes remembered as told at most (forgotten all at once past it: a warning more, no harm). */
const MAX_TOLD = 4_096;

/**
 * Warns once per node (per replica and start) that it announced without naming the gateway it
 * signed for: a node older than `gatewayAddress`. Its announcements are still taken, so they can
 * be carried to another gateway within their five minutes; gateways released from 2027-03-01
 * refuse them. Only stored announcements are told of, so keys that cost nothing cannot fill the
 * log: their arrivals are bounded per network.
 */
export function unnamedGatewayNotice() {
  const told = new Set<string>();
  return (announcement: NodeAnnouncement) =>
    Effect.suspend(() => {
      const node = announcement.node.address;
      if (announcement.gatewayAddress !== undefined || told.has(node)) return Effect.void;
      if (told.size >= MAX_TOLD) told.clear();
      told.add(node);
      return Effect.logWarning(
        "a node announced without naming this gateway (gatewayAddress): its version is older than that field, and its announcements could be carried to another gateway; taken for now, refused by gateways released from 2027-03-01: its operator should upgrade it",
      ).pipe(
        Effect.annotateLogs({
          node,
          software: `${announcement.software.name} ${announcement.software.version}`,
        }),
      );
    });
}
