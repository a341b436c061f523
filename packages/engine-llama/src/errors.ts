/**
 * Stable codes for what can go wrong with an embedded GGUF model. The node runner shows them to
 * its operator at startup (`pocket-node check` and the node's start-up error), never to clients.
 *
 * - `GGUF_MODEL_NOT_FOUND`: no file at the configured `modelPath`.
 * - `GGUF_MODEL_INVALID`: the file is not a GGUF model llama.cpp can load (wrong magic, truncated,
 *   unsupported architecture or tensor type).
 * - `GGUF_ENGINE_UNAVAILABLE`: llama.cpp's binary for this platform is not installed or fails to
 *   load (see the node operator guide, "Running a GGUF model").
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
