export { answerChoicesMismatch, chunkChoiceOutOfRange, StreamedChoices } from "./answer-choices.js";
export { carriesErrorMember, HONEST_OUTPUT_SLACK_PER_CHOICE, OutputAfterFinish } from "./answer-rules.js";
export {
  StreamedToolCalls,
  type ToolCallLimit,
  type ToolCallsOverLimit,
  toolCallLimit,
  toolCallsOverLimit,
} from "./answer-tool-calls.js";
export {
  ChatAssistantContent,
  ChatContent,
  ChatMessage,
  ChatRefusalPart,
  ChatTextPart,
  ChatToolCall,
  chatPartAsText,
} from "./chat-message.js";
export { ChatCompletionRequest, ChatResponseFormat, chatMaxTokens } from "./chat-request.js";
export { ChatCompletionChunk, ChatCompletionResponse, ChatLogprobs } from "./chat-response.js";
export { CompletionUsage, FinishReason, StopSequences, StreamOptions } from "./common-fields.js";
export { CompletionPrompt, CompletionRequest } from "./completion-request.js";
export { CompletionChunk, CompletionLogprobs, CompletionResponse } from "./completion-response.js";
export {
  EmbeddingRequest,
  EmbeddingResponse,
  embeddingInputs,
  packEmbedding,
  unpackEmbedding,
} from "./embeddings.js";
export { OpenAIErrorBody } from "./error-body.js";
export { normalizeFinishReason, normalizeFinishReasons } from "./finish-reason.js";
export { Base64Png, ImageEditRequest, ImageGenerationRequest, imageEditMode } from "./image-requests.js";
export { ImageSize, imageRequestSize, OutpaintPadding, parseImageSize } from "./image-size.js";
export { ImagesResponse } from "./images-response.js";
export {
  OPENAI_OPERATION_PATHS,
  OPENAI_REQUEST_SCHEMAS,
  type OpenAIRequestOf,
  parseOpenAIRequest,
} from "./parse-request.js";
export { chatPromptText, countPromptTokens, type PromptInput, promptText } from "./prompt-text.js";
export { formatSseEvent, parseSseStream, SSE_DONE, SseStreamParser } from "./sse.js";
