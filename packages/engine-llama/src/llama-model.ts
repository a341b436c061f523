import type { Llama, LlamaContextSequence, LlamaModel as NativeModel, Token } from "node-llama-cpp";
import { LLAMA_BINDING_INSTALL } from "./binding.js";
import { LlamaEngineError } from "./errors.js";
import { checkGgufFile } from "./gguf-file.js";

export interface LlamaModelOptions {
  /** Path of the `.gguf` file. */
  readonly modelPath: string;
  /** Tokens each sequence can hold (prompt plus completion). Default: the model's training context, at most 4096. */
  readonly contextSize?: number | undefined;
  /** Sequences evaluated side by side, i.e. requests served at once. Default 1. */
  readonly sequences?: number | undefined;
  /** `auto` (default) offloads to a GPU when llama.cpp has a build for one installed; `off` uses the CPU only. */
  readonly gpu?: "auto" | "off" | undefined;
  /** CPU threads for evaluation. Default: llama.cpp's choice. */
  readonly threads?: number | undefined;
}

/**
 * One open evaluation sequence (its own KV cache). `append` feeds tokens and answers the
 * next-token log-probabilities (natural log, over the whole vocabulary) after each of them.
 */
export interface LlamaSequence {
  /** Tokens in the sequence so far. */
  readonly length: number;
  /** Appends `tokens`; `scores: "all"` answers one row per appended token, `"last"` one row. */
  append(tokens: readonly number[], scores: "all" | "last"): Promise<Float64Array[]>;
  /** Clears the sequence and gives it back to the model for the next request. */
  release(): void;
}

export interface LlamaModel {
  /** `general.name` from the file, or the file name. */
  readonly name: string;
  readonly architecture: string;
  readonly vocabSize: number;
  /** Tokens one sequence can hold. */
  readonly contextSize: number;
  readonly bos: number | undefined;
  readonly eos: number | undefined;
  /** Whether prompts start with the beginning-of-sequence token (`tokenizer.ggml.add_bos_token`). */
  readonly addBos: boolean;
  /** The compute backend in use: `cuda`, `vulkan`, `metal`, or `false` for the CPU. */
  readonly gpu: string | false;
  /** Text to token ids with the model's own tokenizer; special-token text is treated as plain text. */
  tokenize(text: string): number[];
  /** Token ids to text; throws a `RangeError` for an id outside the vocabulary. */
  detokenize(tokens: readonly number[]): string;
  /** The bytes a token stands for (empty for control tokens such as `<s>`). */
  tokenBytes(token: number): Uint8Array;
  /** The token's vocabulary entry, e.g. `<s>` or `▁the`. */
  tokenPiece(token: number): string;
  /** End-of-sequence or another end-of-generation token. */
  isEndOfGeneration(token: number): boolean;
  /** Waits for a free sequence; rejects when `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<LlamaSequence>;
  close(): Promise<void>;
}

type NodeLlamaCpp = typeof import("node-llama-cpp");

const runtimes = new Map<"auto" | "off", Promise<{ readonly lib: NodeLlamaCpp; readonly llama: Llama }>>();

/** One llama.cpp runtime per process and GPU choice; the binding is loaded on first use only. */
function runtime(gpu: "auto" | "off") {
  let pending = runtimes.get(gpu);
  if (pending === undefined) {
    pending = (async () => {
      let lib: NodeLlamaCpp;
      try {
        lib = await import("node-llama-cpp");
      } catch {
        throw new LlamaEngineError(
          "GGUF_ENGINE_UNAVAILABLE",
          `node-llama-cpp is not installed: ${LLAMA_BINDING_INSTALL}`,
        );
      }
      try {
        const llama = await lib.getLlama({
          gpu: gpu === "off" ? false : "auto",
          // Never download or compile at run time: use the prebuilt binary that was installed.
          build: "never",
          usePrebuiltBinaries: true,
          skipDownload: true,
          progressLogs: false,
          logLevel: lib.LlamaLogLevel.error,
          logger: () => {},
        });
        return { lib, llama };
      } catch {
        throw new LlamaEngineError(
          "GGUF_ENGINE_UNAVAILABLE",
          "no prebuilt llama.cpp binary for this platform could be loaded",
        );
      }
    })();
    runtimes.set(gpu, pending);
    pending.catch(() => runtimes.delete(gpu));
  }
  return pending;
}

/** node-llama-cpp brands token ids; they are plain numbers at run time. */
const tok = (token: number) => token as Token;
const toks = (tokens: readonly number[]) => tokens as readonly Token[];

const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

/** Loads a GGUF model with llama.cpp. Fails with a `LlamaEngineError` naming what is wrong. */
export async function openLlamaModel(options: LlamaModelOptions): Promise<LlamaModel> {
  checkGgufFile(options.modelPath);
  const { llama } = await runtime(options.gpu ?? "auto");
  let native: NativeModel;
  try {
    native = await llama.loadModel({ modelPath: options.modelPath });
  } catch {
    throw new LlamaEngineError("GGUF_MODEL_INVALID", "llama.cpp could not load the model file");
  }
  const sequences = options.sequences ?? 1;
  const trained = native.trainContextSize;
  const contextSize = options.contextSize ?? Math.min(trained, 4096);
  const context = await native
    .createContext({
      contextSize,
      sequences,
      ...(options.threads === undefined ? {} : { threads: options.threads }),
    })
    .catch(async () => {
      await native.dispose();
      throw new LlamaEngineError("GGUF_MODEL_INVALID", `cannot create a context of ${contextSize} tokens`);
    });

  const metadata = native.fileInfo.metadata as {
    general?: { name?: string; architecture?: string };
    tokenizer?: { ggml?: { tokens?: readonly string[]; add_bos_token?: boolean } };
  };
  const pieces = metadata.tokenizer?.ggml?.tokens ?? [];
  const vocabSize = pieces.length > 0 ? pieces.length : native.fileInfo.metadata.tokenizer.ggml.tokens.length;
  const bos = native.tokens.bos ?? undefined;
  const eos = native.tokens.eos ?? undefined;
  const addBos =
    bos !== undefined && (metadata.tokenizer?.ggml?.add_bos_token ?? native.vocabularyType === "spm");
  const bytesCache = new Map<number, Uint8Array>();
  const encoder = new TextEncoder();

  const tokenBytes = (token: number): Uint8Array => {
    const cached = bytesCache.get(token);
    if (cached !== undefined) return cached;
    const attributes = native.getTokenAttributes(tok(token));
    let bytes: Uint8Array;
    const byte = attributes.byte ? BYTE_PIECE.exec(pieces[token] ?? "") : null;
    if (byte !== null) bytes = Uint8Array.of(Number.parseInt(byte[1]!, 16));
    else if (attributes.control) bytes = new Uint8Array(0);
    else bytes = encoder.encode(native.detokenize([tok(token)], false));
    bytesCache.set(token, bytes);
    return bytes;
  };

  // Free sequences, and requests waiting for one (first come, first served).
  const free: LlamaContextSequence[] = [];
  for (let i = 0; i < sequences; i++) free.push(context.getSequence());
  const waiting: ((sequence: LlamaContextSequence) => void)[] = [];

  const wrap = (sequence: LlamaContextSequence): LlamaSequence => {
    let released = false;
    let length = 0;
    return {
      get length() {
        return length;
      },
      async append(tokens, scores) {
        if (released) throw new Error("the sequence was released");
        if (tokens.length === 0) return [];
        const last = tokens.length - 1;
        const input = tokens.map((token, i) =>
          scores === "all" || i === last ? ([token, { generateNext: { logits: true } }] as const) : token,
        );
        const output = await sequence.controlledEvaluate(
          input as Parameters<typeof sequence.controlledEvaluate>[0],
        );
        length += tokens.length;
        const rows: Float64Array[] = [];
        for (let i = scores === "all" ? 0 : last; i <= last; i++) {
          const logits = output[i]?.next.logits;
          if (logits === undefined) throw new Error("llama.cpp returned no logits");
          rows.push(logSoftmax(logits, vocabSize));
        }
        return rows;
      },
      release() {
        if (released) return;
        released = true;
        void sequence.clearHistory().then(() => {
          const next = waiting.shift();
          if (next === undefined) free.push(sequence);
          else next(sequence);
        });
      },
    };
  };

  let closed = false;
  return {
    name: metadata.general?.name ?? options.modelPath.split(/[\\/]/).pop() ?? "gguf",
    architecture: metadata.general?.architecture ?? "unknown",
    vocabSize,
    contextSize: context.contextSize,
    bos,
    eos,
    addBos,
    gpu: llama.gpu,
    tokenize: (text) => native.tokenize(text, false).map(Number),
    detokenize: (tokens) => {
      // llama.cpp reads the vocabulary table at each id unchecked.
      const outside = tokens.find((t) => !Number.isInteger(t) || t < 0 || t >= vocabSize);
      if (outside !== undefined) throw new RangeError(`token id ${outside} is not in 0..${vocabSize - 1}`);
      return native.detokenize(toks(tokens), false);
    },
    tokenBytes,
    tokenPiece: (token) => pieces[token] ?? native.detokenize([tok(token)], true),
    isEndOfGeneration: (token) => native.isEogToken(tok(token)),
    acquire(signal) {
      if (closed) return Promise.reject(new Error("the model is closed"));
      signal?.throwIfAborted();
      const ready = free.pop();
      if (ready !== undefined) return Promise.resolve(wrap(ready));
      return new Promise((resolve, reject) => {
        const take = (sequence: LlamaContextSequence) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(wrap(sequence));
        };
        const onAbort = () => {
          const at = waiting.indexOf(take);
          if (at >= 0) waiting.splice(at, 1);
          reject(signal?.reason);
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        waiting.push(take);
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      await context.dispose();
      await native.dispose();
    },
  };
}

/** Natural-log softmax of llama.cpp's logits, in double precision, as a dense row. */
function logSoftmax(logits: ReadonlyMap<number, number>, vocabSize: number): Float64Array {
  const row = new Float64Array(vocabSize).fill(Number.NEGATIVE_INFINITY);
  let max = Number.NEGATIVE_INFINITY;
  for (const [token, value] of logits) {
    if (token < vocabSize) row[token] = value;
    if (value > max) max = value;
  }
  let sum = 0;
  for (let i = 0; i < vocabSize; i++) sum += Math.exp(row[i]! - max);
  const shift = max + Math.log(sum);
  for (let i = 0; i < vocabSize; i++) row[i] = row[i]! - shift;
  return row;
}
