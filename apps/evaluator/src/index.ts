export type { EvaluatorConfig } from "./config/evaluator-config.js";
export { CONTENT_CHECKS, type ContentCheck, contentProbe } from "./images/content-probe.js";
export { makeOpenAiTransport } from "./probe/openai-transport.js";
export type { ProbeTransportShape } from "./probe/probe-transport.js";
export { ProbeTransport, TARGET_NODE_HEADER } from "./probe/probe-transport.js";
export type { AppRouter } from "./router.js";
