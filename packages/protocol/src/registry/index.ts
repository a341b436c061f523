export {
  type CapabilityNeed,
  capabilityNeeds,
  missingCapability,
  type RequestBody,
  type TextCapability,
} from "./capability-needs.js";
export { GATEWAY_PROCEDURES, NODE_PROCEDURES } from "./gateway-procedures.js";
export {
  createNodeAnnouncement,
  NODE_ANNOUNCEMENT_MAX_AGE_MS,
  NODE_ANNOUNCEMENT_MAX_SKEW_MS,
  NodeAnnouncement,
  type NodeAnnouncementCheck,
  type NodeAnnouncementFields,
  SignedNodeAnnouncement,
  UnsignedNodeAnnouncement,
  verifyNodeAnnouncement,
} from "./node-announcement.js";
export {
  MAX_UNKNOWN_CAPABILITY_FLAGS,
  NodeCapabilities,
  NodeModelDeclaration,
  NodeServiceOffer,
  NodeTokenizer,
  SignedNodeServiceOffer,
} from "./node-service-offer.js";
export { RegistrationAck, RegistryCandidate } from "./registration-ack.js";
