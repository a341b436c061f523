import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tinyModelInfo, tinyModelPath } from "@pocket-ai/tiny-model";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkGgufFile, LlamaEngineError, type LlamaModel, openLlamaModel } from "../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "engine-llama-"));

function engineError(error: unknown) {
  expect(error).toBeInstanceOf(LlamaEngineError);
  return (error as LlamaEngineError).code;
}

describe("openLlamaModel on the tiny fixture model", () => {
  let model: LlamaModel;
  beforeAll(async () => {
    model = await openLlamaModel({ modelPath: tinyModelPath(), gpu: "off", sequences: 1, threads: 1 });
    // Loading llama.cpp's binary and the model takes a while on a busy machine.
  }, 120_000);
  afterAll(() => model?.close());

  it("reads the model's metadata and its own tokenizer", () => {
    expect(model.name).toBe("pocket-tiny");
    expect(model.architecture).toBe("llama");
    expect(model.vocabSize).toBe(356);
    expect(model.contextSize).toBeGreaterThanOrEqual(512);
    expect(model.addBos).toBe(true);
    expect(model.bos).toBe(1);
    expect(model.eos).toBe(2);
    expect(model.gpu).toBe(false);
    expect(model.placement).toEqual({
      gpu: false,
      gpuLayers: 0,
      totalLayers: 5,
      devices: [],
      note: undefined,
      summary: "CPU",
    });
    const reference = tinyModelInfo().reference[0]!;
    expect([model.bos, ...model.tokenize(reference.text)]).toEqual(reference.tokens);
    expect(model.detokenize(model.tokenize("Hello, world!"))).toBe("Hello, world!");
    expect(model.tokenPiece(1)).toBe("<s>");
    expect(model.tokenBytes(1)).toEqual(new Uint8Array(0));
    expect(model.isEndOfGeneration(2)).toBe(true);
    expect(model.isEndOfGeneration(model.tokenize("a")[0]!)).toBe(false);
  });

  it("spells characters outside the vocabulary as byte tokens", () => {
    const tokens = model.tokenize("é");
    expect(tokens).toHaveLength(2);
    expect(tokens.map((t) => [...model.tokenBytes(t)])).toEqual([[0xc3], [0xa9]]);
    expect(model.detokenize(tokens)).toBe("é");
  });

  it("computes the same log-probabilities as the PyTorch model the file was exported from", async () => {
    for (const reference of tinyModelInfo().reference) {
      const sequence = await model.acquire();
      try {
        const rows = await sequence.append(reference.tokens, "all");
        expect(rows).toHaveLength(reference.tokens.length);
        expect(sequence.length).toBe(reference.tokens.length);
        reference.next_token_logprobs.forEach((expected, i) => {
          expect(rows[i]![reference.tokens[i + 1]!]).toBeCloseTo(expected, 2);
        });
        const last = rows.at(-1)!;
        const total = last.reduce((sum, lp) => sum + Math.exp(lp), 0);
        expect(total).toBeCloseTo(1, 6);
        const best = reference.last_top5[0]!;
        expect(last.indexOf(Math.max(...last))).toBe(best.token);
      } finally {
        sequence.release();
      }
    }
  });

  it("continues a sequence token by token with the same numbers as one batch", async () => {
    const tokens = [1, ...model.tokenize("Six plus four is")];
    const a = await model.acquire();
    const batch = await a.append(tokens, "last");
    a.release();
    const b = await model.acquire();
    await b.append(tokens.slice(0, -1), "last");
    const stepwise = await b.append(tokens.slice(-1), "last");
    b.release();
    expect(batch).toHaveLength(1);
    const top = (row: Float64Array) => row.indexOf(Math.max(...row));
    expect(top(stepwise[0]!)).toBe(top(batch[0]!));
    expect(stepwise[0]![top(batch[0]!)]).toBeCloseTo(batch[0]![top(batch[0]!)]!, 3);
  });

  it("hands out one sequence at a time and lets a waiting request give up", async () => {
    const first = await model.acquire();
    let second = false;
    const waiting = model.acquire().then((s) => {
      second = true;
      return s;
    });
    const controller = new AbortController();
    const abandoned = model.acquire(controller.signal);
    controller.abort(new Error("client went away"));
    await expect(abandoned).rejects.toThrow("client went away");
    await Promise.resolve();
    expect(second).toBe(false);
    first.release();
    const next = await waiting;
    expect(second).toBe(true);
    expect(next.length).toBe(0);
    next.release();
  });
});

describe("model file errors", () => {
  it("names a missing file GGUF_MODEL_NOT_FOUND", async () => {
    const missing = join(dir, "absent.gguf");
    expect(engineError(captureSync(() => checkGgufFile(missing)))).toBe("GGUF_MODEL_NOT_FOUND");
    expect(engineError(await openLlamaModel({ modelPath: missing, gpu: "off" }).catch((e) => e))).toBe(
      "GGUF_MODEL_NOT_FOUND",
    );
  });

  it("names a file that is not GGUF GGUF_MODEL_INVALID, without loading it", () => {
    const text = join(dir, "notes.gguf");
    writeFileSync(text, "this is a text file, not a model; it is long enough to have a header");
    expect(engineError(captureSync(() => checkGgufFile(text)))).toBe("GGUF_MODEL_INVALID");
    const short = join(dir, "short.gguf");
    writeFileSync(short, "GGUF");
    expect(engineError(captureSync(() => checkGgufFile(short)))).toBe("GGUF_MODEL_INVALID");
  });

  it("names a GGUF header with nothing loadable behind it GGUF_MODEL_INVALID", async () => {
    const broken = join(dir, "broken.gguf");
    const header = Buffer.alloc(64);
    header.write("GGUF", 0, "latin1");
    header.writeUInt32LE(3, 4);
    header.writeBigUInt64LE(5n, 8);
    header.writeBigUInt64LE(9n, 16);
    writeFileSync(broken, header);
    checkGgufFile(broken);
    const error = await openLlamaModel({ modelPath: broken, gpu: "off" }).catch((e) => e);
    expect(engineError(error)).toBe("GGUF_MODEL_INVALID");
    expect((error as Error).message).not.toContain(dir);
  }, 120_000);
});

function captureSync(run: () => void): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}
