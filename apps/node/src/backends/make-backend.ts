import { Data } from "effect";
import type { BackendConfig } from "../config/node-config.js";
import { makeA1111Backend } from "./a1111/a1111.js";
import type { Backend } from "./backend.js";
import { makeComfyUiBackend } from "./comfyui/comfyui.js";
import { makeDevBackend } from "./dev/dev-backend.js";
import { type GgufLoadHooks, makeGgufBackend } from "./gguf/gguf-backend.js";
import {
  isOpenAICompatibleKind,
  makeOpenAICompatibleBackend,
} from "./openai-compatible/openai-compatible.js";

/** A backend entry that cannot work as written (no URL, an image engine for a text service...). */
export class BackendMisconfigured extends Data.TaggedError("BackendMisconfigured")<{
  readonly kind: string;
  readonly reason: string;
  readonly message: string;
}> {}

const misconfigured = (kind: string, reason: string) =>
  new BackendMisconfigured({ kind, reason, message: `backend '${kind}': ${reason}` });

/**
 * The adapter for one configured backend. Throws BackendMisconfigured at startup for an entry
 * that could never serve the service, rather than failing every relay later. `now` is the node's
 * clock (Unix ms), read for the `created` of answers the adapter builds itself. `gguf` hears
 * where a `gguf` backend's model runs once it is loaded, and why a load failed.
 */
export function makeBackend(
  config: BackendConfig,
  serviceKind: "text" | "image" | "embedding",
  now: () => number = Date.now,
  gguf?: GgufLoadHooks,
): Backend {
  const { kind, url } = config;
  if (kind === "dev") return makeDevBackend(config, serviceKind, { now });
  if (kind === "gguf") {
    const { modelPath } = config;
    if (serviceKind !== "text") throw misconfigured(kind, "a GGUF model serves text services only");
    if (modelPath === undefined) throw misconfigured(kind, "a gguf backend needs its modelPath");
    try {
      return makeGgufBackend({ ...config, modelPath }, gguf);
    } catch (error) {
      // GGUF_MODEL_NOT_FOUND or GGUF_MODEL_INVALID (the file), GGUF_ENGINE_UNAVAILABLE (the
      // binding is not installed), each with what to fix.
      const reason = error instanceof Error ? error.message : String(error);
      throw misconfigured(
        kind,
        reason.startsWith("GGUF_ENGINE_UNAVAILABLE") ? reason : `modelPath: ${reason}`,
      );
    }
  }
  if (url === undefined) throw misconfigured(kind, `a ${kind} backend needs its url`);
  if (kind === "a1111") {
    if (serviceKind !== "image") throw misconfigured(kind, "AUTOMATIC1111 serves image services only");
    return makeA1111Backend({ ...config, url, now });
  }
  if (kind === "comfyui") {
    if (serviceKind !== "image") throw misconfigured(kind, "ComfyUI serves image services only");
    if (config.model === undefined)
      throw misconfigured(kind, "a comfyui backend needs `model`: the checkpoint file name");
    return makeComfyUiBackend({ ...config, url, now });
  }
  if (isOpenAICompatibleKind(kind)) {
    if (serviceKind === "image") throw misconfigured(kind, `${kind} serves text and embedding services only`);
    const backend = makeOpenAICompatibleBackend({ ...config, kind, url });
    // Under an embedding service the engine answers `/v1/embeddings` (vLLM `--task embed`,
    // llama.cpp `--embeddings`, Ollama): that is the capability routing looks for.
    return serviceKind === "embedding"
      ? { ...backend, capabilities: { ...backend.capabilities, embeddings: true } }
      : backend;
  }
  throw misconfigured(kind, "unknown backend kind");
}
