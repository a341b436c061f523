import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LlamaPlacement } from "@pocket-ai/engine-llama";
import { tinyModelInfo, tinyModelPath } from "@pocket-ai/tiny-model";
import { Cause, Chunk, Effect, Exit, Option, Stream } from "effect";
import { beforeAll, describe, expect, it } from "vitest";
import { backendConfig } from "../../../test/fakes/backend-config.js";
import { chatWithLogprobs, expectOpenAiChatLogprobs } from "../../../test/helpers/chat-logprobs.js";
import { formatProbeReport, probeBackend } from "../../check/check-backend.js";
import type { BackendError } from "../backend.js";
import { BackendMisconfigured, makeBackend } from "../make-backend.js";

// One CPU thread: the tiny model needs no more, and a busy machine makes llama.cpp's thread pool
// spin instead of working.
const config = backendConfig({ kind: "gguf", modelPath: tinyModelPath(), gpu: "off", threads: 1 });
const placements: LlamaPlacement[] = [];
const backend = makeBackend(config, "text", Date.now, {
  onLoaded: (placement) => placements.push(placement),
});

type Choice = {
  text: string;
  logprobs: {
    tokens: string[];
    token_logprobs: (number | null)[];
    top_logprobs: (Record<string, number> | null)[] | null;
    text_offset: number[];
  } | null;
  finish_reason: string;
};
type Usage = { prompt_tokens: number; completion_tokens: number; total_tokens: number };
const choiceOf = (response: Record<string, unknown>) => (response.choices as Choice[])[0]!;
const usageOf = (response: Record<string, unknown>) => response.usage as Usage;
const complete = (body: Record<string, unknown>) => Effect.runPromise(backend.completions(body));

function failure(exit: Exit.Exit<unknown, BackendError>): BackendError {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure");
  const error = Cause.failureOption(exit.cause);
  if (Option.isNone(error)) throw new Error(Cause.pretty(exit.cause));
  return error.value;
}

// The model loads in the background; wait for it once, with room for a busy machine.
beforeAll(() => Effect.runPromise(backend.tokenize("a")), 120_000);

describe("gguf backend on the tiny model", () => {
  it("tells where the loaded model runs, once", () => {
    expect(placements).toEqual([
      { gpu: false, gpuLayers: 0, totalLayers: 5, devices: [], note: undefined, summary: "CPU" },
    ]);
  });

  it("declares what llama.cpp in-process can do", () => {
    expect(backend.kind).toBe("gguf");
    expect(backend.id).toMatch(/^gguf@pocket-tiny\.gguf\//);
    expect(backend.capabilities).toEqual({
      completions: true,
      chat: true,
      streaming: true,
      promptLogprobs: true,
      logprobs: true,
      seed: true,
      tokenize: true,
      n: true,
      tools: false,
      forcedToolChoice: false,
      singleToolCall: false,
      jsonMode: false,
      jsonSchema: false,
      tokenPrompts: true,
      logitBias: false,
      suffix: false,
      embeddings: false,
      images: null,
    });
    expect(backend.embeddings).toBeUndefined();
    // An operator's `capabilities` cannot make the in-process engine claim what its code does not do.
    const claimed = makeBackend(
      { ...config, capabilities: { tools: true, jsonMode: true, logitBias: true, suffix: true } },
      "text",
    );
    expect(claimed.capabilities).toEqual(backend.capabilities);
  });

  it("completes a prompt with what the model learned, counting tokens with its own tokenizer", async () => {
    const prompt = "The capital of France is";
    const response = await complete({ model: "pocket-tiny", prompt, max_tokens: 6, temperature: 0 });
    expect(response).toMatchObject({ object: "text_completion", model: "pocket-tiny" });
    expect(response.system_fingerprint).toBe("pocket-ai-gguf");
    const choice = choiceOf(response);
    expect(choice.text).toBe(" Paris");
    expect(choice.finish_reason).toBe("length");
    // `<s>` plus one token per character.
    expect(usageOf(response)).toEqual({
      prompt_tokens: prompt.length + 1,
      completion_tokens: 6,
      total_tokens: 31,
    });
    // The node's own count, which its admission enforces the tier's limit with, is what it bills.
    expect(await Effect.runPromise(backend.tokenize(prompt))).toBe(prompt.length + 1);
  });

  it("stops at a stop sequence and at the model's end of sequence", async () => {
    const stopped = await complete({
      prompt: "Six plus four is",
      max_tokens: 20,
      temperature: 0,
      stop: ["."],
    });
    expect(choiceOf(stopped).text).toBe(" ten");
    expect(choiceOf(stopped).finish_reason).toBe("stop");
    expect(usageOf(stopped).completion_tokens).toBe(4);

    const chat = await Effect.runPromise(
      backend.chatCompletions({
        model: "pocket-tiny",
        messages: [{ role: "user", content: "What is the opposite of hot?" }],
        max_tokens: 60,
        temperature: 0,
      }),
    );
    const message = (chat.choices as { message: { content: string }; finish_reason: string }[])[0]!;
    expect(message.message.content).toBe("The opposite of hot is cold.");
    expect(message.finish_reason).toBe("stop");
    expect(usageOf(chat).completion_tokens).toBeLessThan(60);
  });

  it("samples reproducibly with a seed, and differently with other seeds", async () => {
    const body = { prompt: "3 + 4 = 7.", max_tokens: 24, temperature: 1, top_p: 0.95 };
    const a = await complete({ ...body, seed: 11 });
    const b = await complete({ ...body, seed: 11 });
    expect(choiceOf(a).text).toBe(choiceOf(b).text);
    const others = new Set<string>();
    for (const seed of [1, 2, 3, 4]) others.add(choiceOf(await complete({ ...body, seed })).text);
    expect(others.size).toBeGreaterThan(2);
  });

  it("applies presence and frequency penalties to the tokens it generated", async () => {
    // The tiny model is too sure of its next character for a penalty to change a greedy answer;
    // sampled with one seed, the same draws land on other tokens once the penalized ones weigh less.
    const textOf = async (extra: Record<string, unknown>) =>
      choiceOf(await complete({ prompt: "The cat", max_tokens: 40, temperature: 1, seed: 5, ...extra })).text;
    const plain = await textOf({});
    expect(await textOf({ presence_penalty: 0, frequency_penalty: 0 })).toBe(plain);
    expect(await textOf({ presence_penalty: 2 })).not.toBe(plain);
    expect(await textOf({ frequency_penalty: 2 })).not.toBe(plain);
  });

  it("returns n samples, sample i seeded seed + i, for completions and chat", async () => {
    const body = { prompt: "3 + 4 = 7.", max_tokens: 16, temperature: 1, top_p: 0.95 };
    const three = await complete({ ...body, n: 3, seed: 5 });
    const texts = (three.choices as Choice[]).map((c) => c.text);
    expect((three.choices as { index: number }[]).map((c) => c.index)).toEqual([0, 1, 2]);
    let completionTokens = 0;
    for (const [i, text] of texts.entries()) {
      const single = await complete({ ...body, seed: 5 + i });
      expect(choiceOf(single).text).toBe(text);
      completionTokens += usageOf(single).completion_tokens;
    }
    expect(new Set(texts).size).toBeGreaterThan(1);
    expect(usageOf(three).completion_tokens).toBe(completionTokens);

    const chat = await Effect.runPromise(
      backend.chatCompletions({
        messages: [{ role: "user", content: "Tell me a story." }],
        max_tokens: 24,
        temperature: 1,
        n: 2,
        seed: 9,
      }),
    );
    const messages = chat.choices as { index: number; message: { content: string } }[];
    expect(messages.map((c) => c.index)).toEqual([0, 1]);
    expect(messages.every((c) => c.message.content.length > 0)).toBe(true);
  });

  it("answers chat logprobs as OpenAI does: top_logprobs alternatives at most, token names adding up to the reply", async () => {
    for (const n of [0, 1]) {
      const { unary, streamed } = await chatWithLogprobs(backend, {
        messages: [{ role: "user", content: "Tell me a story." }],
        max_tokens: 24,
        temperature: 2,
        seed: 1,
        logprobs: true,
        top_logprobs: n,
      });
      // Sampled hot, some tokens are not among the n most probable: they are not added to the list.
      expect(expectOpenAiChatLogprobs(unary.content, unary.reply, n)).toBeGreaterThan(0);
      expect(streamed.reply).toBe(unary.reply);
      expect(streamed.content).toEqual(unary.content);
    }
  });

  it("streams the same text as a unary call, then the finish reason and the usage", async () => {
    const body = {
      prompt: "Question: What is two times three?\nAnswer:",
      max_tokens: 30,
      temperature: 0,
      stop: ["\n"],
    };
    const unary = await complete(body);
    const pieces = Chunk.toReadonlyArray(
      await Effect.runPromise(Stream.runCollect(backend.stream("completions", body))),
    );
    const choices = pieces.flatMap(
      (p) => (p.choices as { text: string; finish_reason: string | null }[]) ?? [],
    );
    expect(choices.map((c) => c.text).join("")).toBe(choiceOf(unary).text);
    expect(choiceOf(unary).text).toBe(" six");
    expect(choices.at(-1)?.finish_reason).toBe("stop");
    expect(pieces.at(-1)?.usage).toEqual(usageOf(unary));

    const chat = Chunk.toReadonlyArray(
      await Effect.runPromise(
        Stream.runCollect(
          backend.stream("chat.completions", {
            messages: [{ role: "user", content: "What is the opposite of hot?" }],
            max_tokens: 60,
            temperature: 0,
          }),
        ),
      ),
    );
    const deltas = chat.flatMap((p) => (p.choices as { delta: { role?: string; content?: string } }[]) ?? []);
    expect(deltas[0]?.delta.role).toBe("assistant");
    expect(deltas.map((d) => d.delta.content ?? "").join("")).toBe("The opposite of hot is cold.");

    // Several streamed samples come one after another, each under its own index.
    const several = Chunk.toReadonlyArray(
      await Effect.runPromise(
        Stream.runCollect(
          backend.stream("chat.completions", {
            messages: [{ role: "user", content: "What is the opposite of hot?" }],
            max_tokens: 60,
            temperature: 0,
            n: 2,
          }),
        ),
      ),
    );
    const replies: string[] = [];
    for (const p of several)
      for (const c of (p.choices as { index: number; delta: { content?: string } }[]) ?? [])
        replies[c.index] = (replies[c.index] ?? "") + (c.delta.content ?? "");
    expect(replies).toEqual(["The opposite of hot is cold.", "The opposite of hot is cold."]);
  });

  it("scores the prompt with echo + logprobs (max_tokens 0 and 1), matching the PyTorch reference", async () => {
    const reference = tinyModelInfo().reference[1]!;
    const response = await complete({ prompt: reference.text, max_tokens: 0, echo: true, logprobs: 2 });
    const choice = choiceOf(response);
    expect(choice.text).toBe(reference.text);
    const lp = choice.logprobs!;
    // `<s>` is evaluated, not echoed; the first echoed token has no logprob, as in OpenAI's API.
    expect(lp.tokens.join("")).toBe(reference.text);
    expect(lp.text_offset).toEqual([...reference.text].map((_, i) => i));
    expect(lp.token_logprobs).toHaveLength(reference.next_token_logprobs.length);
    expect(lp.token_logprobs[0]).toBeNull();
    lp.token_logprobs.slice(1).forEach((value, i) => {
      expect(value).toBeCloseTo(reference.next_token_logprobs[i + 1]!, 2);
    });
    const tops = lp.top_logprobs!.slice(1);
    expect(tops.every((top) => top !== null && Object.keys(top).length <= 3)).toBe(true);
    expect(usageOf(response)).toMatchObject({ prompt_tokens: reference.tokens.length, completion_tokens: 0 });

    const one = await complete({
      prompt: "Six plus four is",
      max_tokens: 1,
      echo: true,
      logprobs: 0,
      temperature: 0,
    });
    expect(choiceOf(one).text).toBe("Six plus four is ");
    expect(choiceOf(one).logprobs!.tokens).toHaveLength("Six plus four is".length + 1);
  });

  it("takes token-id prompts as sent, and refuses a prompt longer than the context with a 400", async () => {
    const info = tinyModelInfo().reference[0]!;
    const ids = await complete({ prompt: info.tokens.slice(1, 20), max_tokens: 0, echo: true });
    expect(choiceOf(ids).text).toBe(info.text.slice(0, 19));
    // Evaluated as sent, one echoed token per id, control tokens too (lm-evaluation-harness
    // slices the echo by its own count): `<s>` sent first is not added twice, and scores the same.
    for (const prompt of [info.tokens, [...info.tokens.slice(0, 3), 2, ...info.tokens.slice(3, 8)]]) {
      const scored = await complete({ prompt, max_tokens: 0, echo: true, logprobs: 1 });
      expect(choiceOf(scored).logprobs!.tokens).toHaveLength(prompt.length);
      expect(usageOf(scored).prompt_tokens).toBe(prompt.length);
    }
    const withBos = choiceOf(await complete({ prompt: info.tokens, max_tokens: 0, echo: true, logprobs: 1 }));
    expect(withBos.logprobs!.tokens[0]).toBe("<s>");
    withBos.logprobs!.token_logprobs.slice(1).forEach((value, i) => {
      expect(value).toBeCloseTo(info.next_token_logprobs[i]!, 2);
    });
    const outside = failure(
      await Effect.runPromiseExit(backend.completions({ prompt: [5, 356, 7], max_tokens: 1 })),
    );
    expect(outside).toMatchObject({ _tag: "BackendRejected", status: 400 });
    expect((outside as { reason: string }).reason).toMatch(/outside the model's vocabulary/);

    const error = failure(
      await Effect.runPromiseExit(backend.completions({ prompt: "a".repeat(600), max_tokens: 4 })),
    );
    expect(error._tag).toBe("BackendRejected");
    expect(error).toMatchObject({ status: 400 });
    expect((error as { reason: string }).reason).toMatch(/exceeds the model's context of 512 tokens/);
  });
});

describe("pocket-node check on a gguf backend", () => {
  it("confirms every capability the embedded engine declares", async () => {
    const report = await Effect.runPromise(probeBackend(backend, config));
    expect(formatProbeReport(report)).toContain("GGUF model, in-process");
    expect(report.rows.filter((r) => !r.agrees)).toEqual([]);
    expect(report.rows.find((r) => r.check === "prompt logprobs (echo)")).toMatchObject({
      declared: true,
      observed: "yes",
    });
    // `n` samples for real; tools, JSON output and embeddings are neither declared nor done.
    const observed = Object.fromEntries(
      ["n", "tools", "JSON mode", "JSON schema", "embeddings"].map((check) => {
        const found = report.rows.find((r) => r.check === check);
        return [check, [found?.declared, found?.observed]];
      }),
    );
    expect(observed).toEqual({
      n: [true, "yes"],
      tools: [false, "no"],
      "JSON mode": [false, "no"],
      "JSON schema": [false, "no"],
      embeddings: [false, "no"],
    });
    expect(report.ok).toBe(true);
  });
});

describe("gguf backend configuration", () => {
  const dir = mkdtempSync(join(tmpdir(), "gguf-backend-"));

  it("refuses to start without a loadable model file, naming the problem with a stable code", () => {
    const missing = join(dir, "missing.gguf");
    expect(() => makeBackend(backendConfig({ kind: "gguf", modelPath: missing }), "text")).toThrow(
      /GGUF_MODEL_NOT_FOUND/,
    );
    const text = join(dir, "model.gguf");
    writeFileSync(text, "not a model, just text that is long enough for a header");
    expect(() => makeBackend(backendConfig({ kind: "gguf", modelPath: text }), "text")).toThrow(
      /GGUF_MODEL_INVALID/,
    );
    expect(() => makeBackend(backendConfig({ kind: "gguf" }), "text")).toThrow(/needs its modelPath/);
    expect(() => makeBackend(backendConfig({ kind: "gguf", modelPath: tinyModelPath() }), "image")).toThrow(
      BackendMisconfigured,
    );
  });

  it("answers BACKEND_UNAVAILABLE with GGUF_MODEL_INVALID for a GGUF header llama.cpp cannot load", async () => {
    const broken = join(dir, "broken.gguf");
    const header = Buffer.alloc(64);
    header.write("GGUF", 0, "latin1");
    header.writeUInt32LE(3, 4);
    header.writeBigUInt64LE(3n, 8);
    writeFileSync(broken, header);
    const failures: string[] = [];
    const backend = makeBackend(
      backendConfig({ kind: "gguf", modelPath: broken, gpu: "off" }),
      "text",
      Date.now,
      {
        onLoadFailed: (reason) => failures.push(reason),
      },
    );
    const error = failure(await Effect.runPromiseExit(backend.completions({ prompt: "hi", max_tokens: 1 })));
    // The node's log hears why (served-services logs it as a warning).
    expect(failures.length).toBeGreaterThan(0);
    expect(failures[0]).toMatch(/^GGUF_MODEL_INVALID: /);
    expect(error._tag).toBe("BackendUnavailable");
    expect((error as { reason: string }).reason).toMatch(/^GGUF_MODEL_INVALID: /);
    expect((error as { reason: string }).reason).not.toContain(dir);
    const health = failure(await Effect.runPromiseExit(backend.health()));
    expect((health as { reason: string }).reason).toMatch(/^GGUF_MODEL_INVALID: /);
  }, 120_000);
});
