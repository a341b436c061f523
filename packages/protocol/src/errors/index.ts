export { type ErrorCode, ErrorCodes, GATEWAY_OWN_CODES } from "./codes.js";
export { ENGINE_MESSAGE_MAX, sanitizeEngineMessage } from "./engine-message.js";
export { fail, ok, type ProtocolError, protocolError, type Result, toOpenAIError } from "./protocol-error.js";
