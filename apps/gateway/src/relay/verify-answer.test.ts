import { ChatCompletionChunk, normalizeFinishReasons } from "@pocket-ai/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chunkOffSchema, plainChatChunk } from "./verify-answer.js";

const piece = {
  id: "chatcmpl-1",
  object: "chat.completion.chunk",
  created: 1_700_000_000,
  model: "m",
  choices: [{ index: 0, delta: { content: " the" }, finish_reason: null }],
};

// Values a field may take: right, wrong in type, absent, null, out of range.
const anyValue = fc.constantFrom<unknown>(
  undefined,
  null,
  "",
  "x",
  "assistant",
  "user",
  "chat.completion.chunk",
  "stop",
  0,
  -1,
  1.5,
  2 ** 60,
  true,
  [],
  {},
  [{ index: 0 }],
  { content: "x" },
);

const chunkLike = fc.record(
  {
    id: anyValue,
    object: anyValue,
    created: anyValue,
    model: anyValue,
    usage: anyValue,
    system_fingerprint: anyValue,
    choices: fc.oneof(
      anyValue,
      fc.array(
        fc.record(
          {
            index: anyValue,
            finish_reason: anyValue,
            logprobs: anyValue,
            delta: fc.oneof(
              anyValue,
              fc.record(
                { role: anyValue, content: anyValue, refusal: anyValue, tool_calls: anyValue },
                { requiredKeys: [] },
              ),
            ),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 3 },
      ),
    ),
  },
  { requiredKeys: [] },
);

describe("the plain chat chunk check", () => {
  it("takes the common content piece without the schema", () => {
    expect(plainChatChunk(piece)).toBe(true);
    expect(
      plainChatChunk({
        ...piece,
        choices: [{ index: 0, delta: { role: "assistant" }, finish_reason: null }],
      }),
    ).toBe(true);
    expect(chunkOffSchema("chat.completions", piece)).toBeUndefined();
  });

  it("accepts only chunks the schema accepts", () => {
    const variants = fc.oneof(
      chunkLike,
      // The common piece with one field changed, so that most variants are near the plain shape.
      fc
        .tuple(fc.constantFrom("id", "object", "created", "model", "usage", "choices"), anyValue)
        .map(([key, value]) => ({ ...piece, [key]: value })),
      fc
        .tuple(fc.constantFrom("index", "finish_reason", "logprobs", "delta"), anyValue)
        .map(([key, value]) => ({
          ...piece,
          choices: [{ ...piece.choices[0], [key]: value }],
        })),
      fc.tuple(fc.constantFrom("role", "content", "refusal", "tool_calls"), anyValue).map(([key, value]) => ({
        ...piece,
        choices: [{ ...piece.choices[0], delta: { [key]: value } }],
      })),
    );
    fc.assert(
      fc.property(variants, (chunk) => {
        if (plainChatChunk(chunk))
          expect(ChatCompletionChunk.safeParse(normalizeFinishReasons(chunk)).success).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("leaves off-schema chunks to the schema, which names what is wrong", () => {
    expect(chunkOffSchema("chat.completions", { ...piece, created: -1 })).toMatch(/created/);
    expect(
      chunkOffSchema("chat.completions", {
        ...piece,
        choices: [{ index: 0, delta: { role: "user" }, finish_reason: null }],
      }),
    ).toMatch(/choices\.0\.delta\.role/);
  });
});
