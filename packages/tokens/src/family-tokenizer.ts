/// <reference path="./mistral-tokenizer-js.d.ts" />
import llamaTokenizer from "llama-tokenizer-js";
import mistralTokenizer from "mistral-tokenizer-js";

/** The model families whose tokenizer runs in-process, in gateways and nodes alike. */
export type TokenizerFamily = "llama-2" | "mistral";

/** A family's tokenizer: counts of text as the engines serving that family count them. */
export interface FamilyTokenizer {
  readonly family: TokenizerFamily;
  /** Tokens of a prompt: the BOS token the engines prepend included, as vLLM's `usage.prompt_tokens`. */
  countPrompt(text: string): number;
  /** Tokens of generated text: no BOS, no added leading space (the engine continues a prompt). */
  countOutput(text: string): number;
}

const TOKENIZERS: Record<TokenizerFamily, FamilyTokenizer> = {
  "llama-2": {
    family: "llama-2",
    countPrompt: (text) => llamaTokenizer.encode(text, true, true).length,
    countOutput: (text) => (text === "" ? 0 : llamaTokenizer.encode(text, false, false).length),
  },
  mistral: {
    family: "mistral",
    countPrompt: (text) => mistralTokenizer.encode(text, true, true).length,
    countOutput: (text) => (text === "" ? 0 : mistralTokenizer.encode(text, false, false).length),
  },
};

/**
 * The family a model family or model name belongs to, when its tokenizer is one of ours:
 * `llama-2` for Llama 2 names, `mistral` for Mistral (and Mixtral) names.
 *
 * @example
 * ```ts
 * tokenizerFamilyOf("meta-llama/Llama-2-13b-chat-hf"); // "llama-2"
 * tokenizerFamilyOf("gpt2"); // undefined
 * ```
 */
export function tokenizerFamilyOf(familyOrModel: string | undefined): TokenizerFamily | undefined {
  const name = (familyOrModel ?? "").toLowerCase();
  if (/llama[-_ ]?2/.test(name)) return "llama-2";
  if (/m[iy]stral/.test(name)) return "mistral";
  return undefined;
}

/**
 * The in-process tokenizer of a family.
 *
 * @example
 * ```ts
 * familyTokenizer("llama-2").countPrompt("Hello world"); // 3: BOS, "▁Hello", "▁world"
 * ```
 */
export function familyTokenizer(family: TokenizerFamily): FamilyTokenizer {
  return TOKENIZERS[family];
}
