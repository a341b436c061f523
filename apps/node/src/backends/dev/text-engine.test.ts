import { describe, expect, it } from "vitest";
import { CHAT_STOP_SEQUENCES, formatChatPrompt } from "./chat-template.js";
import { DEV_BACKEND_LABEL } from "./label.js";
import { DevBackendRequestError } from "./request-error.js";
import type { Sleep } from "./sleep.js";
import { createDevTextEngine } from "./text-engine.js";
import type { TextStreamEvent } from "./text-types.js";

const engine = createDevTextEngine();

async function collect(events: AsyncIterable<TextStreamEvent>): Promise<TextStreamEvent[]> {
  const out: TextStreamEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

describe("dev text engine", () => {
  it("is labelled and reports its training", () => {
    expect(engine.info.label).toBe(DEV_BACKEND_LABEL);
    expect(engine.info.trainingMs).toBeGreaterThan(0);
    expect(engine.info.vocabSize).toBeGreaterThan(1000);
  });

  it("completes greedily and deterministically", async () => {
    const request = { prompt: "The capital of France is", maxTokens: 10, temperature: 0 };
    const a = await engine.complete(request);
    const b = await engine.complete(request);
    expect(a.text).toBe(b.text);
    expect(a.text.startsWith(" Paris")).toBe(true);
    expect(a.promptTokens).toBe(engine.countTokens("The capital of France is"));
  });

  it("reproduces a seeded sample and varies with the seed", async () => {
    const request = { prompt: "Once upon a time", maxTokens: 60, temperature: 1.3, ignoreEos: true };
    const a = await engine.complete({ ...request, seed: 1 });
    const b = await engine.complete({ ...request, seed: 1 });
    expect(a.text).toBe(b.text);
    expect(a.seed).toBe(1);
    const others = await Promise.all([2, 3, 4].map((seed) => engine.complete({ ...request, seed })));
    expect(others.some((o) => o.text !== a.text)).toBe(true);
    const unseeded = await engine.complete(request);
    expect(Number.isSafeInteger(unseeded.seed)).toBe(true);
  });

  it("returns echo + logprobs in the OpenAI completions shape", async () => {
    const prompt = "Water boils at 100 degrees";
    const result = await engine.complete({ prompt, maxTokens: 5, temperature: 0, echo: true, logprobs: 3 });
    const lp = result.logprobs!;
    const count = result.promptTokens + result.completionTokens;
    expect(result.text.startsWith(prompt)).toBe(true);
    for (const list of [lp.tokens, lp.tokenLogprobs, lp.topLogprobs, lp.textOffset])
      expect(list).toHaveLength(count);
    expect(lp.tokenLogprobs[0]).toBeNull();
    expect(lp.topLogprobs[0]).toBeNull();
    expect(lp.tokens.join("")).toBe(result.text);
    lp.tokens.forEach((token, i) => {
      expect(result.text.slice(lp.textOffset[i], lp.textOffset[i]! + token.length)).toBe(token);
      if (i === 0) return;
      expect(lp.tokenLogprobs[i]).toBeLessThanOrEqual(0);
      const top = lp.topLogprobs[i]!;
      expect(top[token]).toBeCloseTo(lp.tokenLogprobs[i]!, 12);
      expect(Object.keys(top).length).toBeGreaterThanOrEqual(3);
    });
    expect(result.tokens).toHaveLength(result.completionTokens);
  });

  it("scores a prompt alone with maxTokens 0, independent of sampling settings", async () => {
    const score = async (temperature: number) =>
      (
        await engine.complete({
          prompt: "Bees make honey",
          maxTokens: 0,
          echo: true,
          logprobs: 0,
          temperature,
        })
      ).logprobs!;
    const a = await score(0);
    expect(a.tokenLogprobs).toEqual((await score(1.5)).tokenLogprobs);
    expect(a.topLogprobs[1]).toEqual({ [a.tokens[1]!]: a.tokenLogprobs[1] });
  });

  it("stops at a stop sequence without including it", async () => {
    const full = await engine.complete({ prompt: "How to make", maxTokens: 30, temperature: 0 });
    expect(full.text).toContain(" tea");
    const cut = await engine.complete({
      prompt: "How to make",
      maxTokens: 30,
      temperature: 0,
      stop: [" tea"],
    });
    expect(cut.finishReason).toBe("stop");
    expect(cut.text).toBe(full.text.slice(0, full.text.indexOf(" tea")));
    expect(engine.detokenize(cut.tokens)).toBe(cut.text);
  });

  it("stops at maxTokens with finish reason length", async () => {
    const result = await engine.complete({
      prompt: "The",
      maxTokens: 7,
      temperature: 0.8,
      seed: 3,
      ignoreEos: true,
    });
    expect(result.finishReason).toBe("length");
    expect(result.completionTokens).toBe(7);
  });

  it("ends at end-of-sequence unless told to ignore it", async () => {
    const request = { prompt: "The capital of France is", maxTokens: 50, temperature: 0 };
    const stopped = await engine.complete(request);
    expect(stopped.finishReason).toBe("stop");
    expect(stopped.completionTokens).toBeLessThan(50);
    const ignored = await engine.complete({ ...request, ignoreEos: true });
    expect(ignored.completionTokens).toBe(50);
  });

  it("delivers text for every counted chat token: the reply's bytes bound its completion tokens", async () => {
    // Gateways refuse a usage above the delivered text's UTF-8 bytes (plus the end-of-sequence
    // and one special token per choice): dropping whole whitespace tokens from a reply while
    // counting them would get an honest node sanctioned. Short replies make whitespace-only
    // ones likely; the seeds make the run the same every time.
    const messages = [{ role: "user" as const, content: "fuzz me" }];
    const overCounted: string[] = [];
    for (let seed = 0; seed < 1500; seed++) {
      const options = { maxTokens: 3, temperature: 1, seed };
      const reply = await engine.chat(messages, options);
      const bytes = Buffer.byteLength(reply.message.content);
      if (reply.completionTokens > bytes + 1)
        overCounted.push(`unary seed ${seed}: ${reply.completionTokens} > ${bytes}`);
      const events = await collect(engine.streamChat(messages, options));
      const text = events.map((e) => (e.type === "delta" ? e.text : "")).join("");
      const finish = events.at(-1)!;
      if (text !== reply.message.content) overCounted.push(`seed ${seed}: the stream and the reply differ`);
      if (finish.type === "finish" && finish.completionTokens > Buffer.byteLength(text) + 1)
        overCounted.push(`stream seed ${seed}: ${finish.completionTokens} > ${Buffer.byteLength(text)}`);
    }
    expect(overCounted).toEqual([]);
  });

  it("streams the same text and tokens as a completion, then one finish event", async () => {
    const request = { prompt: "Once upon a time", maxTokens: 40, temperature: 0.9, seed: 8, stop: ["cloud"] };
    const events = await collect(engine.stream(request));
    const finish = events.at(-1)!;
    const deltas = events.filter((e) => e.type === "delta");
    const done = await engine.complete(request);
    expect(finish).toMatchObject({ type: "finish", finishReason: done.finishReason, seed: 8 });
    expect(deltas.map((d) => d.text).join("")).toBe(done.text);
    expect(deltas.flatMap((d) => d.tokens.map((t) => t.token))).toEqual(done.tokens);
  });

  it("stops promptly when aborted", async () => {
    // The abort arrives in the 6th pacing wait, the one before the 7th token (the first token has
    // no wait): no wall clock decides how far generation gets.
    const controller = new AbortController();
    const waits: number[] = [];
    const abortingSleep: Sleep = async (ms, signal) => {
      waits.push(ms);
      if (waits.length === 6) controller.abort();
      signal?.throwIfAborted();
    };
    const slow = createDevTextEngine({ tokensPerSecond: 200, sleep: abortingSleep });
    let tokens = 0;
    await expect(async () => {
      for await (const event of slow.stream(
        { prompt: "The", maxTokens: 1000, ignoreEos: true },
        controller.signal,
      )) {
        if (event.type === "delta") tokens += event.tokens.length;
      }
    }).rejects.toThrow();
    // Aborted while pacing the 7th token: the six before it, and nothing after.
    expect(tokens).toBe(6);
    expect(waits).toHaveLength(6);
    await expect(engine.complete({ prompt: "x", maxTokens: 5 }, AbortSignal.abort())).rejects.toThrow();
  });

  it("notices an abort even when generating as fast as possible", async () => {
    // The abort runs at the engine's first yield to the event loop: it must yield and notice
    // while generating, or it would finish all 100 000 tokens.
    const controller = new AbortController();
    setImmediate(() => controller.abort());
    await expect(
      engine.complete({ prompt: "The", maxTokens: 100_000, ignoreEos: true }, controller.signal),
    ).rejects.toThrow();
  });

  it("paces tokens by the speed knob", async () => {
    const waits: number[] = [];
    const fakeSleep: Sleep = async (ms) => {
      waits.push(ms);
    };
    const paced = createDevTextEngine({ tokensPerSecond: 50, firstTokenLatencyMs: 300, sleep: fakeSleep });
    await paced.complete({ prompt: "The", maxTokens: 5, ignoreEos: true, seed: 1 });
    expect(waits).toEqual([300, 20, 20, 20, 20]);
  });

  it("chats through the documented template", async () => {
    const messages = [
      { role: "system", content: "You are a helpful assistant." },
      { role: "user", content: "How many legs does a spider have?" },
    ] as const;
    expect(formatChatPrompt(messages)).toBe(
      "System: You are a helpful assistant.\nUser: How many legs does a spider have?\nAssistant:",
    );
    const reply = await engine.chat(messages, { maxTokens: 30, temperature: 0 });
    expect(reply.message.content).toBe("A spider has eight legs.");
    expect(CHAT_STOP_SEQUENCES.some((s) => reply.message.content.includes(s.trim()))).toBe(false);
    const streamed = await collect(engine.streamChat(messages, { maxTokens: 30, temperature: 0 }));
    const text = streamed.map((e) => (e.type === "delta" ? e.text : "")).join("");
    expect(text.trim()).toBe(reply.message.content);
    expect(text.startsWith(" ")).toBe(false);
  });

  it("counts tokens and refuses invalid requests", async () => {
    expect(engine.countTokens("")).toBe(0);
    expect(engine.countTokens("The capital of France is Paris.")).toBe(7);
    await expect(engine.complete({ prompt: "x", maxTokens: -1 })).rejects.toThrow(DevBackendRequestError);
    await expect(engine.complete({ prompt: "x", maxTokens: 1, topP: -0.1 })).rejects.toThrow(/topP/);
    await expect(engine.complete({ prompt: "x", maxTokens: 1, topP: 1.1 })).rejects.toThrow(/topP/);
  });

  it("takes top_p 0 as OpenAI does: only the most probable token, as temperature 0 picks it", async () => {
    const prompt = "The capital of France is";
    const greedy = await engine.complete({ prompt, maxTokens: 8, temperature: 0 });
    const top0 = await engine.complete({ prompt, maxTokens: 8, temperature: 1.5, topP: 0 });
    expect(top0.text).toBe(greedy.text);
  });
});
