/**
 * The routing side's services that tRPC procedures (nodes.announce, admin.nodes.*) need.
 * Widen this union as the routing side adds services.
 */
export type RoutingServices = never;
