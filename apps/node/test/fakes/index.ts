/**
 * `@pocket-ai/node/fakes`: stand-ins for the engines a node drives (vLLM, llama.cpp, Ollama, TGI,
 * AUTOMATIC1111) on 127.0.0.1, for tests in this and other packages. Test code only.
 */
export { type FakeA1111, startFakeA1111 } from "./fake-a1111.js";
export { type Latch, latch, until } from "./fake-server.js";
export { type FakeTextEngine, type FakeTextFaults, type FakeTextFlavor, startFakeVllm } from "./fake-vllm.js";
