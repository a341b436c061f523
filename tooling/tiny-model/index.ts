import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The three checkpoints committed under `models/`, from least to most trained. */
export const TINY_MODEL_NAMES = ["pocket-tiny-early", "pocket-tiny-mid", "pocket-tiny"] as const;
export type TinyModelName = (typeof TINY_MODEL_NAMES)[number];

/** Log-probabilities PyTorch computed for a text from the float16 weights the GGUF file stores. */
export interface TinyModelReference {
  readonly text: string;
  /** `<s>` then the text's tokens. */
  readonly tokens: readonly number[];
  /** For each token after the first: its log-probability given the tokens before it. */
  readonly next_token_logprobs: readonly number[];
  readonly last_top5: readonly { readonly token: number; readonly piece: string; readonly logprob: number }[];
}

export interface TinyModelInfo {
  readonly name: TinyModelName;
  readonly file: string;
  /** Training steps when the checkpoint was taken. */
  readonly step: number;
  readonly seconds: number;
  readonly train_loss: number;
  readonly dev_corpus_loss: number;
  readonly held_out_arithmetic_loss: number;
  /** Greedy continuations of a few prompts, written when the checkpoint was taken. */
  readonly samples: Readonly<Record<string, string>>;
  readonly reference: readonly TinyModelReference[];
}

interface Manifest {
  readonly parameters: number;
  readonly models: readonly TinyModelInfo[];
}

const manifest = JSON.parse(
  readFileSync(new URL("./models/models.json", import.meta.url), "utf8"),
) as Manifest;

/** Absolute path of a committed tiny model's GGUF file. */
export function tinyModelPath(name: TinyModelName = "pocket-tiny"): string {
  return fileURLToPath(new URL(`./models/${name}.gguf`, import.meta.url));
}

/** What the training run recorded about a checkpoint (losses, samples, reference logprobs). */
export function tinyModelInfo(name: TinyModelName = "pocket-tiny"): TinyModelInfo {
  const info = manifest.models.find((m) => m.name === name);
  if (info === undefined) throw new Error(`unknown tiny model ${name}`);
  return info;
}

/** Parameters of each checkpoint (all three share one architecture). */
export const TINY_MODEL_PARAMETERS = manifest.parameters;

/**
 * The catalog entry (a protocol `ServiceSpec`) of a service this model serves: `pocket-tiny`, its
 * one CPU tier sized to the model's 512-character context. The local network serves it; tests
 * that run the model behind a gateway use the same entry.
 */
export const TINY_MODEL_SPEC = {
  id: "pocket-tiny",
  kind: "text",
  class: "model",
  displayName: "Pocket tiny (test model)",
  description:
    "The project's own 0.75M-parameter character-level llama, run by llama.cpp inside a node: a real neural model, tiny enough for a laptop CPU.",
  modelFamily: "pocket-tiny",
  operations: ["completions", "chat.completions"],
  tiers: [
    {
      id: "standard",
      description: "CPU tier; the model's context is 512 characters.",
      priceMicroUsd: 100,
      computeUnitsPerRelay: 100,
      timeoutMs: 60_000,
      limits: { maxInputTokens: 380, maxOutputTokens: 120 },
      hardware: {
        minVramGb: 0,
        gpuClass: "low-end-or-cpu",
        cpuAcceptable: true,
        notes: "Any CPU: the model file is 1.5 MB.",
      },
    },
  ],
} as const;
