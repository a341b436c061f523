/**
 * The built-in development backend: a real but small statistical text model (an interpolated
 * Kneser–Ney n-gram model over an original corpus) and a procedural image generator. It is
 * deterministic given a seed, needs no GPU and no weights, and is labelled as what it is.
 */

export type { ChatMessage } from "./chat-template.js";
export { CHAT_STOP_SEQUENCES, formatChatPrompt } from "./chat-template.js";
export type { StreamedToken } from "./completion-buffer.js";
export { DEV_CORPUS_PATH, loadCorpus } from "./corpus.js";
export type { DevImageEngine, DevImageEngineOptions, ImageResult } from "./image-engine.js";
export { createDevImageEngine } from "./image-engine.js";
export type { ImageEditRequest, ImageGenerateRequest } from "./image-request.js";
export { DEV_BACKEND_LABEL } from "./label.js";
export type { QualityProfile } from "./quality.js";
export { qualityProfile } from "./quality.js";
export { DevBackendRequestError } from "./request-error.js";
export type { Sleep } from "./sleep.js";
export { createDevTextEngine } from "./text-engine.js";
export type { TextCompletionRequest } from "./text-request.js";
export type {
  ChatCompletion,
  ChatOptions,
  CompletionLogprobs,
  DevTextEngine,
  DevTextEngineInfo,
  DevTextEngineOptions,
  FinishReason,
  TextCompletion,
  TextEngine,
  TextStreamEvent,
} from "./text-types.js";
