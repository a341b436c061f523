import { Chunk, Effect, Stream } from "effect";
import { expect } from "vitest";
import type { Backend } from "../../src/backends/backend.js";
import { bytesOf } from "../../src/backends/dev/openai-shapes.js";

interface TokenLogprob {
  readonly token: string;
  readonly logprob: number;
  readonly bytes: readonly number[];
}

/** One entry of a chat answer's `logprobs.content`. */
export interface ChatTokenLogprob extends TokenLogprob {
  readonly top_logprobs: readonly TokenLogprob[];
}

/**
 * What OpenAI's chat API answers for `logprobs: true, top_logprobs: n`: one entry per token, whose
 * names add up to the reply; each with exactly `n` alternatives (the vocabulary holds more), most
 * probable first; the token itself among them only if it is one of those `n`. Returns how many
 * tokens were sampled from outside their top `n`, so that a test can show it covered that case.
 */
export function expectOpenAiChatLogprobs(
  content: readonly ChatTokenLogprob[],
  reply: string,
  n: number,
): number {
  expect(content.length).toBeGreaterThan(0);
  // The tokens' bytes add up to the reply (a character split over tokens is in `bytes:` tokens).
  expect(Buffer.from(content.flatMap((entry) => [...entry.bytes])).toString("utf8")).toBe(reply);
  let outside = 0;
  for (const entry of content) {
    expect(entry.bytes).toEqual(bytesOf(entry.token));
    expect(entry.top_logprobs).toHaveLength(n);
    const values = entry.top_logprobs.map((alt) => alt.logprob);
    expect(values).toEqual([...values].sort((a, b) => b - a));
    for (const alt of entry.top_logprobs) expect(alt.bytes).toEqual(bytesOf(alt.token));
    const own = entry.top_logprobs.find((alt) => alt.token === entry.token);
    if (own !== undefined) expect(own.logprob).toBeCloseTo(entry.logprob, 9);
    else {
      outside += 1;
      if (n > 0) expect(entry.logprob).toBeLessThanOrEqual(values.at(-1)!);
    }
  }
  return outside;
}

type ChatChoice = { message: { content: string }; logprobs: { content: ChatTokenLogprob[] } };
type ChatPiece = {
  choices?: { delta?: { content?: string }; logprobs?: { content: ChatTokenLogprob[] } | null }[];
};

/** A chat answer's reply and logprobs, unary and streamed, from a text backend. */
export async function chatWithLogprobs(backend: Backend, body: Record<string, unknown>) {
  const unary = ((await Effect.runPromise(backend.chatCompletions(body))).choices as ChatChoice[])[0]!;
  const pieces = Chunk.toArray(
    await Effect.runPromise(Stream.runCollect(backend.stream("chat.completions", body))),
  ) as ChatPiece[];
  const choices = pieces.flatMap((piece) => piece.choices ?? []);
  return {
    unary: { reply: unary.message.content, content: unary.logprobs.content },
    streamed: {
      reply: choices.map((c) => c.delta?.content ?? "").join(""),
      content: choices.flatMap((c) => c.logprobs?.content ?? []),
    },
  };
}
