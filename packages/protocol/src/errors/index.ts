export { type ErrorCode, ErrorCodes } from "./codes.js";
export { fail, ok, type ProtocolError, protocolError, type Result, toOpenAIError } from "./protocol-error.js";
