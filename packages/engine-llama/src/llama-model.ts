import type { Llama, LlamaContextSequence, LlamaModel as NativeModel, Token } from "node-llama-cpp";
import { bindingLoadFailure } from "./binding.js";
import { LlamaEngineError } from "./errors.js";
import { checkGgufFile } from "./gguf-file.js";

export interface LlamaModelOptions {
  /** Path of the `.gguf` file. */
  readonly modelPath: string;
  /** Tokens each sequence can hold (prompt plus completion). Default: the model's training context, at most 4096. */
  readonly contextSize?: number | undefined;
  /** Sequences evaluated side by side, i.e. requests served at once. Default 1. */
  readonly sequences?: number | undefined;
  /**
   * `auto` (default) offloads to a GPU when a llama.cpp build for one is installed and its driver
   * is present, and runs on the CPU otherwise (`placement.note` then says why when the machine has
   * a GPU); `off` uses the CPU only; `cuda`, `vulkan` or `metal` use that build or fail with
   * `GGUF_ENGINE_UNAVAILABLE`, never falling back to the CPU.
   */
  readonly gpu?: LlamaGpuSetting | undefined;
  /** CPU threads for evaluation. Default: llama.cpp's choice. */
  readonly threads?: number | undefined;
}

export type LlamaGpuSetting = "auto" | "off" | "cuda" | "vulkan" | "metal";

/** Where llama.cpp runs the model. */
export interface LlamaPlacement {
  /** The compute backend in use: `cuda`, `vulkan`, `metal`, or `false` for the CPU. */
  readonly gpu: string | false;
  /** Layers of the model offloaded to the GPU (0 on the CPU). */
  readonly gpuLayers: number;
  /** Layers the model has (its blocks plus the output layer, as llama.cpp counts them). */
  readonly totalLayers: number;
  /** The GPU devices llama.cpp uses, by name (empty on the CPU). */
  readonly devices: readonly string[];
  /** Set when `gpu: auto` found a GPU driver but no llama.cpp build for it loaded, so the CPU runs the model. */
  readonly note: string | undefined;
  /** One line for the operator's log, e.g. `vulkan: 7 of 7 layers on NVIDIA H200`. */
  readonly summary: string;
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
  /** Where the model runs: backend, layers offloaded, devices, and why `auto` stayed on the CPU. */
  readonly placement: LlamaPlacement;
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

interface Runtime {
  readonly lib: NodeLlamaCpp;
  readonly llama: Llama;
  /** Why `gpu: auto` runs on the CPU of a machine that has a GPU driver; undefined otherwise. */
  readonly note: string | undefined;
}

const runtimes = new Map<LlamaGpuSetting, Promise<Runtime>>();

const GPU_INSTALL = 'docs/node-gguf.md, "GPU"';

/** One llama.cpp runtime per process and GPU setting; the binding is loaded on first use only. */
function runtime(gpu: LlamaGpuSetting) {
  let pending = runtimes.get(gpu);
  if (pending === undefined) {
    pending = (async (): Promise<Runtime> => {
      let lib: NodeLlamaCpp;
      try {
        lib = await import("node-llama-cpp");
      } catch (cause) {
        throw new LlamaEngineError("GGUF_ENGINE_UNAVAILABLE", bindingLoadFailure(cause));
      }
      const explicit = gpu !== "auto" && gpu !== "off";
      let llama: Llama;
      try {
        llama = await lib.getLlama({
          gpu: gpu === "off" ? false : gpu,
          // Never download or compile at run time: use the prebuilt binary that was installed.
          build: "never",
          usePrebuiltBinaries: true,
          skipDownload: true,
          progressLogs: false,
          logLevel: lib.LlamaLogLevel.error,
          logger: () => {},
        });
      } catch {
        throw new LlamaEngineError(
          "GGUF_ENGINE_UNAVAILABLE",
          explicit
            ? `llama.cpp's ${gpu} build could not be loaded: install it and its driver (${GPU_INSTALL}), or set gpu: auto`
            : "no prebuilt llama.cpp binary for this platform could be loaded",
        );
      }
      // node-llama-cpp reads a GPU type this platform has no build for (Metal off a Mac, CUDA on
      // an Arm Mac) as `auto`: a named GPU must be the one in use, never a quiet substitute.
      if (explicit && llama.gpu !== gpu) {
        const got = llama.gpu === false ? "the CPU" : llama.gpu;
        await llama.dispose().catch(() => {});
        throw new LlamaEngineError(
          "GGUF_ENGINE_UNAVAILABLE",
          `llama.cpp's ${gpu} build is not available on this platform (${got} would run the model): set gpu: auto or off`,
        );
      }
      let note: string | undefined;
      if (gpu === "auto" && llama.gpu === false) {
        // The GPU types whose driver this machine has: one there means a GPU build was missing or failed to load.
        const drivers = (await lib.getLlamaGpuTypes("supported").catch(() => [])).filter(
          (type) => type !== false,
        );
        if (drivers.length > 0) {
          note = `gpu: auto found a ${drivers.join(" and ")} driver but no llama.cpp build for it loaded, so the CPU runs the model (${GPU_INSTALL})`;
        }
      }
      return { lib, llama, note };
    })();
    runtimes.set(gpu, pending);
    pending.catch(() => runtimes.delete(gpu));
  }
  return pending;
}

/** The operator's one line about where the model runs. */
export function describePlacement(placement: Omit<LlamaPlacement, "summary">): string {
  if (placement.gpu === false) return placement.note === undefined ? "CPU" : `CPU: ${placement.note}`;
  const on = placement.devices.length > 0 ? ` on ${placement.devices.join(", ")}` : "";
  return `${placement.gpu}: ${placement.gpuLayers} of ${placement.totalLayers} layers${on}`;
}

/** node-llama-cpp brands token ids; they are plain numbers at run time. */
const tok = (token: number) => token as Token;
const toks = (tokens: readonly number[]) => tokens as readonly Token[];

const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

/** Loads a GGUF model with llama.cpp. Fails with a `LlamaEngineError` naming what is wrong. */
export async function openLlamaModel(options: LlamaModelOptions): Promise<LlamaModel> {
  checkGgufFile(options.modelPath);
  const { llama, note } = await runtime(options.gpu ?? "auto");
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

  const devices = llama.gpu === false ? [] : await llama.getGpuDeviceNames().catch(() => []);
  const where = {
    gpu: llama.gpu,
    gpuLayers: native.gpuLayers,
    totalLayers: native.fileInsights.totalLayers,
    devices,
    note,
  };
  const placement: LlamaPlacement = { ...where, summary: describePlacement(where) };

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
    placement,
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
