/**
 * `@pocket-ai/node/fakes`: the node's public test entry, for tests in this and other packages
 * (test code only). Stand-ins for the engines a node drives (vLLM, llama.cpp, Ollama, TGI,
 * AUTOMATIC1111, ComfyUI) on 127.0.0.1, and the node's deterministic development engines (text, image)
 * with a backend over them, for tests that need a model answering without running a node; and the
 * `gguf` backend, which runs a real GGUF model (the project's tiny model) in-process the same way.
 */

export type { Backend, BackendError } from "../../src/backends/backend.js";
export { makeDevBackend } from "../../src/backends/dev/dev-backend.js";
export {
  createDevImageEngine,
  createDevTextEngine,
  type DevImageEngine,
  type DevTextEngine,
} from "../../src/backends/dev/index.js";
export { makeGgufBackend } from "../../src/backends/gguf/gguf-backend.js";
export { type FakeA1111, startFakeA1111 } from "./fake-a1111.js";
export { type FakeComfyUi, startFakeComfyUi } from "./fake-comfyui.js";
export { type Latch, latch, until } from "./fake-server.js";
export {
  ENGINE_JSON_FEATURES,
  type FakeTextEngine,
  type FakeTextFaults,
  type FakeTextFeatures,
  type FakeTextFlavor,
  startFakeVllm,
} from "./fake-vllm.js";
