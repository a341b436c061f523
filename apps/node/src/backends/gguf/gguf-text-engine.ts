import type { LlamaModel, LlamaSequence } from "@pocket-ai/engine-llama";
import type { CompletionChunk } from "../dev/completion-buffer.js";
import { CompletionBuffer } from "../dev/completion-buffer.js";
import { DevBackendRequestError } from "../dev/request-error.js";
import { createRng, randomSeed } from "../dev/rng.js";
import { countToken, penalize, sampleToken } from "../dev/sampling.js";
import { callsOverStream } from "../dev/text-engine.js";
import type { TextCompletionRequest } from "../dev/text-request.js";
import { parseTextRequest } from "../dev/text-request.js";
import type { FinishReason, TextEngine, TextStreamEvent } from "../dev/text-types.js";
import type { Tokenizer } from "../dev/tokenizer.js";

/** Shown as `system_fingerprint` in every answer of the embedded engine. */
export const GGUF_FINGERPRINT = "pocket-ai-gguf";

/**
 * The model's own tokenizer in the shape the completion buffer reads: token bytes for exact
 * streaming across split characters, and printable names for logprobs (`bytes:\xNN` for a byte
 * that is only part of a character, as OpenAI writes them).
 */
function modelTokenizer(model: LlamaModel): Tokenizer {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  return {
    vocabSize: model.vocabSize,
    eosToken: model.eos ?? -1,
    encode: (text) => model.tokenize(text),
    decode: (tokens) => model.detokenize(tokens),
    tokenBytes: (token) => model.tokenBytes(token),
    tokenName: (token) => {
      const bytes = model.tokenBytes(token);
      if (bytes.length === 0) return model.tokenPiece(token);
      try {
        return decoder.decode(bytes);
      } catch {
        return [...bytes].map((b) => `bytes:\\x${b.toString(16).padStart(2, "0")}`).join("");
      }
    },
  };
}

const exp = (row: Float64Array) => row.map(Math.exp);

/** The `k` most probable tokens, best first (lower id on ties), in one pass over the row. */
function topTokens(row: Float64Array, k: number): number[] {
  const best: number[] = [];
  if (k <= 0) return best;
  for (let token = 0; token < row.length; token++) {
    const value = row[token]!;
    if (best.length === k && value <= row[best[k - 1]!]!) continue;
    let at = best.length;
    while (at > 0 && row[best[at - 1]!]! < value) at--;
    best.splice(at, 0, token);
    if (best.length > k) best.pop();
  }
  return best;
}

/**
 * OpenAI completions and chat on a GGUF model run by llama.cpp: the model's tokenizer counts the
 * usage, sampling (temperature, top_p, top_k, seed, presence and frequency penalties) happens
 * here on llama.cpp's log-probabilities so a seed reproduces a completion exactly, and `echo` with `logprobs` scores the prompt's tokens
 * (what lm-evaluation-harness loglikelihood tasks need). Chat uses the same one-line-per-turn
 * template as the development backend; the tiny test model is trained on it.
 */
export function createGgufTextEngine(model: LlamaModel): TextEngine {
  const tokenizer = modelTokenizer(model);

  const describe = (token: number, row: Float64Array | undefined, k: number | undefined) => {
    const name = tokenizer.tokenName(token);
    const logprob = row === undefined ? null : row[token]!;
    if (k === undefined) return { token, name, logprob };
    if (row === undefined) return { token, name, logprob, alternatives: null };
    const alternatives = topTokens(row, k).map((alt) => ({
      name: tokenizer.tokenName(alt),
      logprob: row[alt]!,
    }));
    return { token, name, logprob, alternatives };
  };

  /**
   * The prompt's tokens as one chunk, each scored given the tokens before it, the first with a
   * null logprob as in OpenAI's API. A leading `<s>` is evaluated but not echoed: it is no part of
   * the client's text.
   */
  const scorePrompt = (
    prompt: readonly number[],
    rows: readonly Float64Array[] | undefined,
    k: number | undefined,
    skip: number,
  ): CompletionChunk => {
    const buffer = new CompletionBuffer(tokenizer, []);
    const chunks: CompletionChunk[] = [];
    prompt.forEach((token, i) => {
      if (i < skip) return;
      const chunk = buffer.push(describe(token, i > skip ? rows?.[i - 1] : undefined, k)).chunk;
      if (chunk) chunks.push(chunk);
    });
    const rest = buffer.finish();
    if (rest) chunks.push(rest);
    return { text: chunks.map((c) => c.text).join(""), tokens: chunks.flatMap((c) => c.tokens) };
  };

  /** The `<s>` the engine puts before a prompt's tokens, unless they start with it. */
  const bosFor = (tokens: readonly number[]): number[] =>
    model.addBos && model.bos !== undefined && tokens[0] !== model.bos ? [model.bos] : [];

  async function* stream(
    request: TextCompletionRequest,
    signal?: AbortSignal,
  ): AsyncGenerator<TextStreamEvent> {
    const req = parseTextRequest(request);
    signal?.throwIfAborted();
    const seed = req.seed ?? randomSeed();
    const rng = createRng(seed);
    // Token ids are evaluated as sent (a detokenize/tokenize round trip would drop control
    // tokens and could merge pieces), so an echo has one token per id: lm-evaluation-harness
    // slices it by its own count. `<s>` is put first unless the ids start with it.
    const text = req.promptTokens ?? model.tokenize(req.prompt);
    const bos = bosFor(text);
    const prompt = [...bos, ...text];
    if (prompt.length === 0) throw new DevBackendRequestError("the prompt is empty");
    if (prompt.length + req.maxTokens > model.contextSize) {
      throw new DevBackendRequestError(
        `the prompt (${prompt.length} tokens) plus max_tokens (${req.maxTokens}) exceeds the model's context of ${model.contextSize} tokens`,
      );
    }
    const k = req.logprobs;
    const scored = req.echo && k !== undefined;
    const sequence: LlamaSequence = await model.acquire(signal);
    try {
      signal?.throwIfAborted();
      const rows = await sequence.append(prompt, scored ? "all" : "last");
      let echoedLength = 0;
      if (req.echo) {
        const echoed = scorePrompt(prompt, scored ? rows : undefined, k, bos.length);
        echoedLength = echoed.text.length;
        if (echoed.text !== "" || echoed.tokens.length > 0) yield { type: "delta", ...echoed };
      }
      const buffer = new CompletionBuffer(tokenizer, req.stop, echoedLength);
      let next = rows.at(-1)!;
      const generated = new Map<number, number>();
      let completionTokens = 0;
      let finishReason: FinishReason = "length";
      let stopped = false;
      for (let step = 0; step < req.maxTokens && !stopped; step++) {
        signal?.throwIfAborted();
        const token = sampleToken(penalize(exp(next), generated, req.presencePenalty, req.frequencyPenalty), {
          temperature: req.temperature,
          topP: req.topP,
          topK: req.topK,
          rng,
          banned: req.ignoreEos ? model.eos : undefined,
        });
        if (model.isEndOfGeneration(token) && !req.ignoreEos) {
          finishReason = "stop";
          break;
        }
        countToken(generated, token);
        const pushed = buffer.push(describe(token, next, k));
        stopped = pushed.stopped;
        if (stopped) finishReason = "stop";
        if (pushed.chunk) {
          completionTokens += pushed.chunk.tokens.length;
          yield { type: "delta", ...pushed.chunk };
        }
        if (!stopped && step + 1 < req.maxTokens)
          [next] = (await sequence.append([token], "last")) as [Float64Array];
      }
      const rest = stopped ? undefined : buffer.finish();
      if (rest) {
        completionTokens += rest.tokens.length;
        yield { type: "delta", ...rest };
      }
      yield { type: "finish", finishReason, promptTokens: prompt.length, completionTokens, seed };
    } finally {
      sequence.release();
    }
  }

  return {
    fingerprint: GGUF_FINGERPRINT,
    ...callsOverStream(stream),
    stream,
    // As the engine bills a prompt: with the `<s>` it puts first.
    countTokens: (text) => {
      const tokens = model.tokenize(text);
      return bosFor(tokens).length + tokens.length;
    },
    tokenize: (text) => model.tokenize(text),
    detokenize: (tokens) => model.detokenize(tokens),
  };
}
