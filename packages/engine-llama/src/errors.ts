/**
 * Stable codes for what can go wrong with an embedded GGUF model. The node runner shows them to
 * its operator at startup (`pocket-node check` and the node's start-up error), never to clients.
 *
 * - `GGUF_MODEL_NOT_FOUND`: no file at the configured `modelPath`.
 * - `GGUF_MODEL_INVALID`: the file is not a GGUF model llama.cpp can load (wrong magic, truncated,
 *   unsupported architecture or tensor type).
 * - `GGUF_ENGINE_UNAVAILABLE`: the binding (node-llama-cpp) is not installed, or llama.cpp's binary
 *   for this platform fails to load (see docs/node-gguf.md, "Install").
 */
export type LlamaEngineErrorCode = "GGUF_MODEL_NOT_FOUND" | "GGUF_MODEL_INVALID" | "GGUF_ENGINE_UNAVAILABLE";

export class LlamaEngineError extends Error {
  override readonly name = "LlamaEngineError";
  constructor(
    readonly code: LlamaEngineErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}
