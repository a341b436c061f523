/// <reference path="./mistral-tokenizer-js.d.ts" />
import llamaTokenizer from "llama-tokenizer-js";
import mistralTokenizer from "mistral-tokenizer-js";
import { FewestTokens } from "./fewest-tokens.js";
import { MergeTokenizer } from "./merge-tokenizer.js";

/** The model families whose tokenizer runs in-process, in gateways and nodes alike. */
export type TokenizerFamily = "llama-2" | "mistral";

/** A family's tokenizer: counts of text as the engines serving that family count them. */
export interface FamilyTokenizer {
  readonly family: TokenizerFamily;
  /** Tokens of a prompt: the BOS token the engines prepend included, as vLLM's `usage.prompt_tokens`. */
  countPrompt(text: string): number;
  /** Tokens of generated text: no BOS, no added leading space (the engine continues a prompt). */
  countOutput(text: string): number;
  /**
   * The fewest tokens of the family's vocabulary that spell generated text: what an engine of the
   * family counted at least, however it sampled the text ({@link countOutput} is the merges'
   * spelling, which may be longer than the one sampled), and whether or not its decoder dropped the
   * space of the first token (`▁January` read as "January", which takes three tokens without it).
   * Builds its table (about 0.05 s) on first use.
   */
  fewestOutput(text: string): number;
}

/**
 * The id of the token that stands for a space (`▁`) in each family's vocabulary.
 */
const SPACE_TOKEN_ID: Record<TokenizerFamily, number> = { "llama-2": 29871, mistral: 28705 };

/**
 * Each family's merge tokenizer: the vocabulary and merges of the family's tokenizer package, read
 * into integer tables on first use. Its ids equal the package's `encode` for every text.
 */
const MERGE_TOKENIZERS: Record<TokenizerFamily, MergeTokenizer> = {
  "llama-2": new MergeTokenizer(() => llamaTokenizer, SPACE_TOKEN_ID["llama-2"]),
  mistral: new MergeTokenizer(() => mistralTokenizer, SPACE_TOKEN_ID.mistral),
};

/** Each family's vocabulary as spellings (see {@link FewestTokens}), built on first use. */
const FEWEST: Record<TokenizerFamily, () => FewestTokens> = {
  "llama-2": once(() => new FewestTokens(llamaTokenizer, SPACE_TOKEN_ID["llama-2"])),
  mistral: once(() => new FewestTokens(mistralTokenizer, SPACE_TOKEN_ID.mistral)),
};

function once<T>(make: () => T): () => T {
  let made: T | undefined;
  return () => {
    made ??= make();
    return made;
  };
}

function familyTokenizerOf(family: TokenizerFamily): FamilyTokenizer {
  const tokenizer = MERGE_TOKENIZERS[family];
  return {
    family,
    countPrompt: (text) => tokenizer.count(text, true, true),
    countOutput: (text) => tokenizer.count(text, false, false),
    fewestOutput: (text) => {
      const fewest = FEWEST[family]();
      return Math.min(fewest.count(text), fewest.count(` ${text}`));
    },
  };
}

const TOKENIZERS: Record<TokenizerFamily, FamilyTokenizer> = {
  "llama-2": familyTokenizerOf("llama-2"),
  mistral: familyTokenizerOf("mistral"),
};

/**
 * Builds the tables of each family's tokenizer that are not built yet (about 0.1–0.2 s and 15 MB
 * each): what a process calls while it starts, for the families it will count, so that no relay
 * waits for them. Returns the families that were built by this call.
 *
 * @example
 * ```ts
 * prepareFamilyTokenizers(["llama-2"]); // ["llama-2"] the first time, [] after
 * ```
 */
export function prepareFamilyTokenizers(families: Iterable<TokenizerFamily>): TokenizerFamily[] {
  const built: TokenizerFamily[] = [];
  for (const family of new Set(families)) {
    const tokenizer = MERGE_TOKENIZERS[family];
    if (tokenizer.ready) continue;
    tokenizer.prepare();
    built.push(family);
  }
  return built;
}

/** Whether a family's tokenizer tables are built (see {@link prepareFamilyTokenizers}). */
export function familyTokenizerReady(family: TokenizerFamily): boolean {
  return MERGE_TOKENIZERS[family].ready;
}

/**
 * The token ids of a family's tokenizer (for tests and tools; counting goes through
 * {@link familyTokenizer}). `encode(text, true, true)` is a prompt: BOS and a preceding space.
 */
export function familyMergeTokenizer(family: TokenizerFamily): MergeTokenizer {
  return MERGE_TOKENIZERS[family];
}

/**
 * Mistral models that count with Tekken (a byte-level BPE of 131k tokens, fewer tokens than the
 * SentencePiece `mistral` tokenizer for most text), not with the Mistral 7B tokenizer: Mistral NeMo,
 * Mistral Small from 24B on (the 22B `2409` and Ollama's `mistral-small:22b` keep SentencePiece),
 * Mistral Medium, Ministral and Pixtral (whose Hugging Face names carry `mistralai/`). Counting
 * their answers with `mistral` would prove overruns an honest engine never made.
 */
const TEKKEN_MISTRAL = /nemo|tekken|medium|ministral|pixtral|small(?![-_: ]?(?:22b|2409|instruct-2409))/;

/**
 * The family a model family or model name belongs to, when its tokenizer is one of ours:
 * `llama-2` for Llama 2 names, `mistral` for the Mistral names that count with the Mistral 7B
 * SentencePiece tokenizer — Mixtral's too (8x7B has Mistral 7B's vocabulary, 8x22B its v0.3 one,
 * as Mistral 7B v0.3 and Large 2 have) — not Mistral NeMo, Small 3, Medium, Ministral or Pixtral,
 * which count with Tekken.
 *
 * @example
 * ```ts
 * tokenizerFamilyOf("meta-llama/Llama-2-13b-chat-hf"); // "llama-2"
 * tokenizerFamilyOf("mixtral:8x7b"); // "mistral"
 * tokenizerFamilyOf("mistralai/Mistral-Nemo-Instruct-2407"); // undefined
 * tokenizerFamilyOf("gpt2"); // undefined
 * ```
 */
export function tokenizerFamilyOf(familyOrModel: string | undefined): TokenizerFamily | undefined {
  const name = (familyOrModel ?? "").toLowerCase();
  if (/llama[-_ ]?2/.test(name)) return "llama-2";
  if (/m[iy]stral|mixtral/.test(name) && !TEKKEN_MISTRAL.test(name)) return "mistral";
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
