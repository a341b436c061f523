import { Duration, Effect } from "effect";
import type { Backend, BackendCapabilities } from "../backends/backend.js";
import type { BackendConfig } from "../config/node-config.js";
import { probeBackend } from "./check-backend.js";

type TextFlag = Exclude<keyof BackendCapabilities, "images">;

/** Which capability each probe row of {@link probeBackend} observes. */
const CHECK_FLAGS: Readonly<Record<string, TextFlag>> = {
  completions: "completions",
  chat: "chat",
  "prompt logprobs (echo)": "promptLogprobs",
  logprobs: "logprobs",
  seed: "seed",
  streaming: "streaming",
  tokenize: "tokenize",
  n: "n",
  tools: "tools",
  "forced tool choice": "forcedToolChoice",
  "single tool call": "singleToolCall",
  "token-id prompts": "tokenPrompts",
  "JSON mode": "jsonMode",
  "JSON schema": "jsonSchema",
  embeddings: "embeddings",
};

/** Engines reached over HTTP, whose flags and versions the node cannot know from their kind. */
const PROBED_KINDS = new Set(["vllm", "llamacpp", "ollama", "tgi"]);

/** Image engines reached over HTTP: asked at start whether they answer. */
const IMAGE_ENGINE_KINDS = new Set(["a1111", "comfyui"]);

/** The longest a start-up probe of one engine may take before the declaration is kept as is. */
export const START_PROBE_LIMIT = Duration.seconds(90);

/** What the start-up probe did to one backend's declaration. */
export interface StartProbeOutcome {
  readonly backend: Backend;
  /** Declared capabilities the engine refused or ignored, now off. */
  readonly turnedOff: readonly TextFlag[];
  /** Why the declaration was kept unprobed (engine unreachable, probe too slow), if it was. */
  readonly kept?: string;
  /** An image engine, asked only whether it answers, that did not: why. */
  readonly unreachable?: string;
}

/**
 * Probes an HTTP text engine at start with `pocket-node check`'s probes and returns the backend
 * with every declared capability the engine was seen not to have turned off: a node announces
 * only what it was seen to do, so gateways never route it a parameter its engine would ignore.
 * Capabilities are only ever removed (an undeclared one the engine has stays off: the operator
 * declares it). An engine that cannot be reached, or a probe that errs or runs past
 * {@link START_PROBE_LIMIT}, leaves the declaration as it is: an engine still loading is not
 * punished, and `pocket-node check` says more. Image engines are only asked whether they answer
 * (`health`), so that one that does not is reported at start; in-process engines are not probed.
 */
export function probeAtStart(
  backend: Backend,
  config: BackendConfig,
  serviceKind: "text" | "image" | "embedding",
): Effect.Effect<StartProbeOutcome> {
  if (!config.probeAtStart || backend.kind === "dev") return Effect.succeed({ backend, turnedOff: [] });
  // An image engine is not probed for capabilities, but one that does not answer is said so at
  // start rather than by the first customer's relay. In-process engines are left alone.
  if (serviceKind === "image" && IMAGE_ENGINE_KINDS.has(backend.kind))
    return backend.health().pipe(
      Effect.timeout(Duration.seconds(5)),
      Effect.as<StartProbeOutcome>({ backend, turnedOff: [] }),
      Effect.catchAll((e) =>
        Effect.succeed<StartProbeOutcome>({
          backend,
          turnedOff: [],
          unreachable: "message" in e ? String(e.message) : "no answer in time",
        }),
      ),
    );
  if (!PROBED_KINDS.has(backend.kind) || serviceKind === "image")
    return Effect.succeed({ backend, turnedOff: [] });
  return probeBackend(backend, config, serviceKind).pipe(
    Effect.timeoutFail({
      duration: START_PROBE_LIMIT,
      onTimeout: () => `the probe took longer than ${Duration.format(START_PROBE_LIMIT)}`,
    }),
    Effect.map((report): StartProbeOutcome => {
      const reachable = report.rows.find((row) => row.check === "reachable");
      if (reachable?.observed !== "yes") return { backend, turnedOff: [], kept: "engine not reachable" };
      const turnedOff: TextFlag[] = [];
      for (const row of report.rows) {
        const flag = CHECK_FLAGS[row.check];
        if (flag !== undefined && row.declared === true && row.observed === "no") turnedOff.push(flag);
      }
      if (turnedOff.length === 0) return { backend, turnedOff };
      const capabilities: Record<string, unknown> = { ...backend.capabilities };
      for (const flag of turnedOff) capabilities[flag] = false;
      return {
        backend: { ...backend, capabilities: capabilities as unknown as BackendCapabilities },
        turnedOff,
      };
    }),
    Effect.catchAll((reason) => Effect.succeed({ backend, turnedOff: [], kept: reason })),
  );
}
