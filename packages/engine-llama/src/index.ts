/**
 * The node runner's embedded engine: a GGUF model run in-process by llama.cpp through
 * node-llama-cpp. The binding is an optional peer dependency, loaded on first use only, so importing
 * this package is cheap and works where the binding is not installed (`checkLlamaBinding` says so).
 */
export {
  bindingLoadFailure,
  checkLlamaBinding,
  checkLlamaEnvironment,
  LLAMA_BINDING_INSTALL,
} from "./binding.js";
export { LlamaEngineError, type LlamaEngineErrorCode } from "./errors.js";
export { checkGgufFile } from "./gguf-file.js";
export {
  describePlacement,
  type LlamaGpuSetting,
  type LlamaModel,
  type LlamaModelOptions,
  type LlamaPlacement,
  type LlamaSequence,
  openLlamaModel,
} from "./llama-model.js";
