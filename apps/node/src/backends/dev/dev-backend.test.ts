import { decodePng, encodePng, type RgbaImage } from "@pocket-ai/png";
import { countTurns } from "@pocket-ai/png/testing";
import { Cause, Chunk, Effect, Exit, Fiber, Option, Stream } from "effect";
import { describe, expect, it } from "vitest";
import { backendConfig } from "../../../test/fakes/backend-config.js";
import { chatWithLogprobs, expectOpenAiChatLogprobs } from "../../../test/helpers/chat-logprobs.js";
import type { BackendError } from "../backend.js";
import { makeDevBackend } from "./dev-backend.js";

const text = makeDevBackend(backendConfig({ kind: "dev" }), "text");
const images = makeDevBackend(backendConfig({ kind: "dev" }), "image");

function failure(exit: Exit.Exit<unknown, BackendError>): BackendError {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure");
  const error = Cause.failureOption(exit.cause);
  if (Option.isNone(error)) throw new Error(Cause.pretty(exit.cause));
  return error.value;
}
type Choice = {
  text: string;
  logprobs: { tokens: string[]; token_logprobs: (number | null)[] } | null;
  finish_reason: string;
};
const choicesOf = (response: Record<string, unknown>) => response.choices as Choice[];

function solidPng(width: number, height: number): string {
  const data = new Uint8Array(width * height * 4).fill(255);
  return Buffer.from(encodePng({ width, height, data })).toString("base64");
}
const decoded = (response: Record<string, unknown>): RgbaImage[] =>
  (response.data as { b64_json: string }[]).map((item) => decodePng(Buffer.from(item.b64_json, "base64")));

describe("development backend", () => {
  it("scores the prompt with echo + logprobs, like vLLM", async () => {
    const response = await Effect.runPromise(
      text.completions({
        model: "dev-model",
        prompt: "The capital of France is",
        max_tokens: 0,
        echo: true,
        logprobs: 1,
      }),
    );
    expect(response).toMatchObject({
      object: "text_completion",
      model: "dev-model",
      usage: { completion_tokens: 0 },
    });
    expect(String(response.id)).toMatch(/^cmpl-/);
    const choice = choicesOf(response)[0]!;
    expect(choice.text).toBe("The capital of France is");
    expect(choice.logprobs?.tokens.join("")).toBe("The capital of France is");
    expect(choice.logprobs?.token_logprobs[0]).toBeNull();
    expect(choice.logprobs?.token_logprobs.slice(1).every((lp) => typeof lp === "number" && lp <= 0)).toBe(
      true,
    );
  });

  it("is reproducible with a seed and answers several prompts and samples", async () => {
    const body = { prompt: ["Once upon a time", "The weather"], max_tokens: 6, seed: 3, n: 2 };
    const first = await Effect.runPromise(text.completions(body));
    const second = await Effect.runPromise(text.completions(body));
    expect(choicesOf(first).map((c) => c.text)).toEqual(choicesOf(second).map((c) => c.text));
    expect(choicesOf(first)).toHaveLength(4);
    expect((first.usage as { prompt_tokens: number }).prompt_tokens).toBeGreaterThan(0);
  });

  it("applies presence and frequency penalties to what it generated, as OpenAI does", async () => {
    const tokensOf = async (extra: Record<string, unknown>) => {
      const response = await Effect.runPromise(
        text.completions({
          prompt: "One plus one is",
          max_tokens: 40,
          temperature: 0,
          logprobs: 0,
          ...extra,
        }),
      );
      return choicesOf(response)[0]!.logprobs!.tokens;
    };
    const repeats = (tokens: string[]) => tokens.length - new Set(tokens).size;
    const plain = await tokensOf({});
    expect(repeats(plain)).toBeGreaterThan(0);
    expect(await tokensOf({ presence_penalty: 0, frequency_penalty: 0 })).toEqual(plain);
    // A strong presence penalty makes greedy decoding pick new tokens over ones it already wrote.
    expect(repeats(await tokensOf({ presence_penalty: 2 }))).toBeLessThan(repeats(plain));
    expect(repeats(await tokensOf({ frequency_penalty: 2 }))).toBeLessThan(repeats(plain));
    // A negative one asks for repetition.
    expect(repeats(await tokensOf({ presence_penalty: -2 }))).toBeGreaterThanOrEqual(repeats(plain));
  });

  it("answers chat with logprobs", async () => {
    const response = await Effect.runPromise(
      text.chatCompletions({
        messages: [{ role: "user", content: [{ type: "text", text: "What is the capital of France?" }] }],
        max_tokens: 8,
        seed: 1,
        logprobs: true,
        top_logprobs: 2,
      }),
    );
    expect(response.object).toBe("chat.completion");
    const choice = (
      response.choices as { message: { role: string; content: string }; logprobs: { content: unknown[] } }[]
    )[0]!;
    expect(choice.message.role).toBe("assistant");
    expect(choice.logprobs.content.length).toBeGreaterThan(0);
    expect(response.usage).toMatchObject({
      prompt_tokens: expect.any(Number),
      completion_tokens: expect.any(Number),
    });
  });

  it("answers chat logprobs as OpenAI does: top_logprobs alternatives at most, token names adding up to the reply", async () => {
    const chat = (topLogprobs: number) =>
      chatWithLogprobs(text, {
        messages: [{ role: "user", content: "Tell me about the weather." }],
        max_tokens: 24,
        temperature: 1.5,
        seed: 4,
        logprobs: true,
        top_logprobs: topLogprobs,
      });
    for (const n of [0, 2]) {
      const { unary, streamed } = await chat(n);
      const outside = expectOpenAiChatLogprobs(unary.content, unary.reply, n);
      // Sampled hot, some tokens are not among the n most probable: they are not added to the list.
      expect(outside).toBeGreaterThan(0);
      expect(streamed.reply).toBe(unary.reply);
      expect(streamed.content).toEqual(unary.content);
    }
    // A character split over tokens: each part is a `bytes:\xNN` token whose bytes are that byte.
    const accented = await chatWithLogprobs(text, {
      messages: [{ role: "user", content: "Café crème brûlée, naïve résumé: déjà vu ☃ 日本語" }],
      max_tokens: 40,
      temperature: 1.5,
      seed: 0,
      logprobs: true,
      top_logprobs: 2,
    });
    expect(accented.unary.content.some((entry) => entry.token.startsWith("bytes:"))).toBe(true);
    expectOpenAiChatLogprobs(accented.unary.content, accented.unary.reply, 2);
    expect(accented.streamed.content).toEqual(accented.unary.content);
  });

  it("streams the same text as the unary call, then finish and usage pieces", async () => {
    const body = { prompt: "Once upon a time", max_tokens: 12, seed: 9 };
    const unary = choicesOf(await Effect.runPromise(text.completions(body)))[0]!;
    const pieces = Chunk.toArray(
      await Effect.runPromise(Stream.runCollect(text.stream("completions", body))),
    );
    const usagePiece = pieces.at(-1)!;
    expect(usagePiece.choices).toEqual([]);
    expect(usagePiece.usage).toMatchObject({ completion_tokens: expect.any(Number) });
    const finish = (pieces.at(-2)!.choices as Choice[])[0]!;
    expect(finish.finish_reason).toBe(unary.finish_reason);
    const streamed = pieces.slice(0, -1).map((piece) => (piece.choices as Choice[])[0]!.text);
    expect(streamed.join("")).toBe(unary.text);
  });

  it("streams several prompts and samples one after another, each under the unary answer's index", async () => {
    const body = { prompt: ["Once upon a time", "The weather"], max_tokens: 6, seed: 3, n: 2 };
    const unary = await Effect.runPromise(text.completions(body));
    const pieces = Chunk.toArray(
      await Effect.runPromise(Stream.runCollect(text.stream("completions", body))),
    );
    const texts: string[] = [];
    const finishes: string[] = [];
    for (const piece of pieces.slice(0, -1)) {
      const choice = (piece.choices as (Choice & { index: number })[])[0]!;
      texts[choice.index] = (texts[choice.index] ?? "") + choice.text;
      if (choice.finish_reason !== null) finishes[choice.index] = choice.finish_reason;
    }
    expect(texts).toEqual(choicesOf(unary).map((c) => c.text));
    expect(finishes).toEqual(choicesOf(unary).map((c) => c.finish_reason));
    expect(pieces.at(-1)).toMatchObject({ choices: [], usage: unary.usage as object });

    const chat = { messages: [{ role: "user", content: "Hello" }], max_tokens: 5, seed: 8, n: 3 };
    const unaryChat = await Effect.runPromise(text.chatCompletions(chat));
    const chatPieces = Chunk.toArray(
      await Effect.runPromise(Stream.runCollect(text.stream("chat.completions", chat))),
    );
    const replies: string[] = [];
    const roles: number[] = [];
    for (const piece of chatPieces.slice(0, -1)) {
      const choice = (piece.choices as { index: number; delta: { role?: string; content?: string } }[])[0]!;
      if (choice.delta.role === "assistant") roles.push(choice.index);
      replies[choice.index] = (replies[choice.index] ?? "") + (choice.delta.content ?? "");
    }
    expect(roles).toEqual([0, 1, 2]);
    const unaryReplies = (unaryChat.choices as { message: { content: string } }[]).map(
      (c) => c.message.content,
    );
    expect(replies).toEqual(unaryReplies);
    expect(chatPieces.at(-1)).toMatchObject({ choices: [], usage: unaryChat.usage as object });
  });

  it("streams chat starting with the assistant role", async () => {
    const pieces = Chunk.toArray(
      await Effect.runPromise(
        Stream.runCollect(
          text.stream("chat.completions", { messages: [{ role: "user", content: "Hello" }], max_tokens: 5 }),
        ),
      ),
    );
    expect(pieces[0]).toMatchObject({
      object: "chat.completion.chunk",
      choices: [{ delta: { role: "assistant" } }],
    });
  });

  it("ends a wait for the first token at once when the stream is interrupted", async () => {
    const late = makeDevBackend(backendConfig({ kind: "dev", firstTokenMs: 600_000 }), "text");
    const ended = await Effect.runPromise(
      Effect.gen(function* () {
        const reading = yield* Effect.fork(
          Stream.runCollect(late.stream("completions", { prompt: "Once", max_tokens: 4 })),
        );
        // Let the engine start its wait (a busy machine only makes this a later interrupt).
        yield* Effect.sleep("50 millis");
        // Interrupting waits for the stream's finalizers: they must not wait for the first token.
        return yield* Fiber.interrupt(reading);
      }),
    );
    expect(Exit.isInterrupted(ended)).toBe(true);
  });

  it("paces tokens with the speed knob and stops when the stream is interrupted", async () => {
    const slow = makeDevBackend(backendConfig({ kind: "dev", tokensPerSecond: 20 }), "text");
    // The 100 000 paced tokens would take over an hour, far past the test's timeout: the
    // collection ends only because taking two interrupts the generation.
    const two = await Effect.runPromise(
      Stream.runCollect(
        Stream.take(slow.stream("completions", { prompt: "Once", max_tokens: 100_000, ignore_eos: true }), 2),
      ),
    );
    expect(Chunk.size(two)).toBe(2);
  });

  it("refuses what it cannot do before any output, and times out", async () => {
    const refused = await Effect.runPromiseExit(
      text.chatCompletions({ messages: [{ role: "tool", content: "x" }] }),
    );
    expect(failure(refused)).toMatchObject({ _tag: "BackendRejected", status: 400 });
    const outside = failure(
      await Effect.runPromiseExit(text.completions({ prompt: [[5, 10_000_000]], max_tokens: 1 })),
    );
    expect(outside).toMatchObject({ _tag: "BackendRejected", status: 400 });
    expect((outside as { reason: string }).reason).toContain("outside the model's vocabulary");
    const seen: unknown[] = [];
    const streamExit = await Effect.runPromiseExit(
      Stream.runForEach(text.stream("chat.completions", { messages: [] }), (piece) =>
        Effect.sync(() => seen.push(piece)),
      ),
    );
    expect(failure(streamExit)._tag).toBe("BackendRejected");
    expect(seen).toEqual([]);
    const late = makeDevBackend(backendConfig({ kind: "dev", firstTokenMs: 2_000, timeoutMs: 100 }), "text");
    expect(failure(await Effect.runPromiseExit(late.completions({ prompt: "x", max_tokens: 3 })))._tag).toBe(
      "BackendTimeout",
    );
    expect(failure(await Effect.runPromiseExit(text.imagesGenerations({ prompt: "x" })))).toMatchObject({
      status: 501,
    });
  });

  it("counts tokens with its own tokenizer", async () => {
    expect(await Effect.runPromise(text.tokenize("The capital of France is"))).toBe(5);
  });

  it("generates and edits images of the requested size", async () => {
    const generated = await Effect.runPromise(
      images.imagesGenerations({ prompt: "a lighthouse", size: "64x32", n: 2, seed: 4 }),
    );
    expect(decoded(generated).map((image) => [image.width, image.height])).toEqual([
      [64, 32],
      [64, 32],
    ]);
    expect((generated.data as { seed: number }[]).map((item) => item.seed)).toEqual([4, 5]);
    const source = solidPng(32, 32);
    const img2img = await Effect.runPromise(
      images.imagesEdits({ prompt: "x", image: source, strength: 0.5, size: "48x48" }),
    );
    expect(decoded(img2img)[0]).toMatchObject({ width: 48, height: 48 });
    const inpaint = await Effect.runPromise(
      images.imagesEdits({ prompt: "x", image: source, mask: solidPng(32, 32) }),
    );
    expect(decoded(inpaint)[0]).toMatchObject({ width: 32, height: 32 });
    const padding = { top: 8, right: 16, bottom: 8, left: 16 };
    const outpaint = await Effect.runPromise(
      images.imagesEdits({ prompt: "x", image: source, padding, size: "96x64" }),
    );
    expect(decoded(outpaint)[0]).toMatchObject({ width: 96, height: 64 });
    expect(text.capabilities.images).toBeNull();
    expect(images.capabilities).toMatchObject({
      completions: false,
      images: { generate: true, outpaint: true },
    });
  });
  it("lets the node's other relays run through a large edit, from its uploads to its answer", async () => {
    const side = 1024;
    const [image, mask] = [solidPng(side, side), solidPng(side, side)];
    const inpainting = countTurns();
    const answer = await Effect.runPromise(images.imagesEdits({ prompt: "x", image, mask, seed: 3 }));
    inpainting.stop();
    // Every pass over 4 MiB of RGBA runs in bands of 256 KiB or less, a turn after each, so 16
    // turns or more: the image and the mask decoded, the mask read for its transparency and into
    // flags (16 together at least), the field rendered, the picture composited, the answer encoded.
    expect(inpainting.count()).toBeGreaterThanOrEqual(6 * 16);
    expect(decoded(answer)[0]).toMatchObject({ width: side, height: side });

    const padding = { top: 64, right: 64, bottom: 64, left: 64 };
    const outpainting = countTurns();
    const grown = await Effect.runPromise(
      images.imagesEdits({ prompt: "x", image: solidPng(512, 512), padding, size: "1024x1024", seed: 3 }),
    );
    outpainting.stop();
    // The 512x512 source decoded (4 turns), scaled to 896x896 and encoded again, then decoded by the
    // engine (3 MiB each: 12 turns each); the field, the composite and the answer are 1024x1024.
    expect(outpainting.count()).toBeGreaterThanOrEqual(4 + 3 * 12 + 3 * 16);
    expect(decoded(grown)[0]).toMatchObject({ width: 1024, height: 1024 });
    // Turns decide it; a busy machine may take long over the pixels themselves.
  }, 180_000);

  it("dates its answers (`created`) by the node's clock, not the machine's", async () => {
    const at = Date.UTC(2031, 0, 2, 3, 4, 5);
    const now = () => at;
    const clocked = makeDevBackend(backendConfig({ kind: "dev" }), "text", { now });
    const clockedImages = makeDevBackend(backendConfig({ kind: "dev" }), "image", { now });
    const created = at / 1000;
    const unary = await Effect.runPromise(clocked.completions({ prompt: "The", max_tokens: 2 }));
    expect(unary.created).toBe(created);
    const chat = await Effect.runPromise(
      clocked.chatCompletions({ messages: [{ role: "user", content: "hi" }], max_tokens: 2 }),
    );
    expect(chat.created).toBe(created);
    const pieces = await Effect.runPromise(
      Stream.runCollect(clocked.stream("completions", { prompt: "The", max_tokens: 2 })),
    );
    expect(Chunk.size(pieces)).toBeGreaterThan(0);
    for (const piece of Chunk.toReadonlyArray(pieces)) expect(piece.created).toBe(created);
    const picture = await Effect.runPromise(clockedImages.imagesGenerations({ prompt: "x", size: "16x16" }));
    expect(picture.created).toBe(created);
  });
});
