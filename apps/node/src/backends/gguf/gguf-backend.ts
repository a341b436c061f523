import { basename } from "node:path";
import {
  checkGgufFile,
  checkLlamaBinding,
  checkLlamaEnvironment,
  LlamaEngineError,
  type LlamaPlacement,
  openLlamaModel,
} from "@pocket-ai/engine-llama";
import { Effect, Stream } from "effect";
import type { BackendConfig } from "../../config/node-config.js";
import { type Backend, type BackendError, BackendRejected, BackendUnavailable } from "../backend.js";
import { inProcessRunner } from "../dev/dev-backend.js";
import { DevBackendRequestError } from "../dev/request-error.js";
import { devChatCompletions, devCompletions, devStream } from "../dev/text-calls.js";
import type { TextEngine } from "../dev/text-types.js";
import { ENGINE_CAPABILITIES } from "../engine-capabilities.js";
import type { EngineTarget } from "../engine-http.js";
import { createGgufTextEngine } from "./gguf-text-engine.js";

let ggufBackendCount = 0;

/** A refused request is the caller's fault (400); the model failing to load or run is the engine's. */
function toBackendError(backend: string, error: unknown): BackendError {
  if (error instanceof DevBackendRequestError) {
    return new BackendRejected({ backend, status: 400, reason: error.message });
  }
  if (error instanceof LlamaEngineError) return new BackendUnavailable({ backend, reason: error.message });
  return new BackendUnavailable({ backend, reason: "llama.cpp failed while evaluating the request" });
}

/** What a `gguf` backend tells its node about loading its model (the node logs both). */
export interface GgufLoadHooks {
  readonly onLoaded?: (placement: LlamaPlacement) => void;
  readonly onLoadFailed?: (reason: string) => void;
}

/**
 * A GGUF model run in-process by llama.cpp (node-llama-cpp), behind the same `Backend` contract
 * as the HTTP engines: OpenAI completions and chat, streamed or not, under the call timeout, with
 * interruption stopping generation. The file and the binding are checked at once (a missing or
 * non-GGUF file throws `LlamaEngineError` with `GGUF_MODEL_NOT_FOUND` / `GGUF_MODEL_INVALID`, a
 * missing node-llama-cpp `GGUF_ENGINE_UNAVAILABLE` with the install command, so the node refuses
 * to start), then the model is loaded in the background; calls wait for the load. `hooks.onLoaded`
 * hears where each load put the model (GPU layers, or why `gpu: auto` stayed on the CPU),
 * `hooks.onLoadFailed` why a load failed (the next call or health probe tries again).
 */
export function makeGgufBackend(
  config: BackendConfig & { readonly modelPath: string },
  hooks: GgufLoadHooks = {},
): Backend {
  checkGgufFile(config.modelPath);
  checkLlamaBinding();
  checkLlamaEnvironment();
  ggufBackendCount += 1;
  const target: EngineTarget = {
    backendId: `gguf@${basename(config.modelPath)}/${ggufBackendCount}`,
    baseUrl: "",
    timeoutMs: config.timeoutMs,
  };
  const backend = target.backendId;
  const runner = inProcessRunner(target, (error) => toBackendError(backend, error));

  let loading: Promise<TextEngine> | undefined;
  let lastFailure: unknown;
  const load = () => {
    if (loading === undefined) {
      lastFailure = undefined;
      loading = openLlamaModel({
        modelPath: config.modelPath,
        contextSize: config.contextSize,
        sequences: config.maxConcurrency,
        gpu: config.gpu,
        threads: config.threads,
      }).then((model) => {
        hooks.onLoaded?.(model.placement);
        return createGgufTextEngine(model);
      });
      // A failed load is tried again on the next call (the file may have been fixed).
      loading.catch((error: unknown) => {
        loading = undefined;
        lastFailure = error;
        hooks.onLoadFailed?.(error instanceof Error ? error.message : String(error));
      });
    }
    return loading;
  };
  load().catch(() => {});
  const engine = Effect.tryPromise({ try: load, catch: (error) => toBackendError(backend, error) });
  // Healthy while the model loads (calls wait for it) and once it is loaded; a failed load is
  // reported, and tried again, by the next probe.
  const health = Effect.suspend(() => {
    if (lastFailure === undefined) {
      if (loading === undefined) load().catch(() => {});
      return Effect.void;
    }
    const failure = toBackendError(backend, lastFailure);
    load().catch(() => {});
    return Effect.fail(failure);
  });

  return {
    id: backend,
    kind: "gguf",
    // What this code does, whatever the config says: an in-process engine has no flags to start it with.
    capabilities: ENGINE_CAPABILITIES.gguf,
    completions: (body) => Effect.flatMap(engine, (text) => devCompletions(text, runner, body)),
    chatCompletions: (body) => Effect.flatMap(engine, (text) => devChatCompletions(text, runner, body)),
    stream: (operation, body) =>
      Stream.unwrap(Effect.map(engine, (text) => devStream(text, runner, operation, body))),
    imagesGenerations: () =>
      Effect.fail(
        new BackendRejected({ backend, status: 501, reason: "a GGUF text model does not make images" }),
      ),
    imagesEdits: () =>
      Effect.fail(
        new BackendRejected({ backend, status: 501, reason: "a GGUF text model does not edit images" }),
      ),
    tokenize: (input) => Effect.map(engine, (text) => text.countTokens(input)),
    health: () => health,
  };
}
