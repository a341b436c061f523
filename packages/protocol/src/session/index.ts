export { checkRelaySession, type SessionPhase } from "./check-relay-session.js";
export { SessionHeader } from "./header.js";
export { isNodeInSession, selectSessionNodes, sessionNodeDraw } from "./select-nodes.js";
export { deriveSessionHeader, deriveSessionId, SESSION_ID_DOMAIN } from "./session-id.js";
export {
  ClockSessionParams,
  SessionParams,
  type SessionWindow,
  sessionGrace,
  sessionNumberAt,
  sessionWindow,
} from "./session-params.js";
