import type { NodeRegistry } from "../registry/node-registry.js";
import type { ScoresPoller } from "../scores/scores-poller.js";
import type { Selector } from "./selector.js";

/**
 * The routing side's services that tRPC procedures (nodes.announce, admin.nodes.*) need.
 * Widen this union as the routing side adds services.
 */
export type RoutingServices = NodeRegistry | Selector | ScoresPoller;
