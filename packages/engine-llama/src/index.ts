/**
 * The node runner's embedded engine: a GGUF model run in-process by llama.cpp through
 * node-llama-cpp. The binding is loaded on first use only, so importing this package is cheap.
 */
export { LlamaEngineError, type LlamaEngineErrorCode } from "./errors.js";
export { checkGgufFile } from "./gguf-file.js";
export {
  type LlamaModel,
  type LlamaModelOptions,
  type LlamaSequence,
  openLlamaModel,
} from "./llama-model.js";
