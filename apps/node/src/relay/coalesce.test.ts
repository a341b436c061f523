import { describe, expect, it } from "vitest";
import { foldPiece } from "./coalesce.js";

const chat = (
  content: unknown,
  extra: Record<string, unknown> = {},
  delta: Record<string, unknown> = {},
) => ({
  id: "c1",
  object: "chat.completion.chunk",
  created: 1,
  model: "m",
  choices: [{ index: 0, delta: { content, ...delta }, finish_reason: null, logprobs: null, ...extra }],
});
const text = (value: unknown, extra: Record<string, unknown> = {}) => ({
  id: "t1",
  object: "text_completion",
  created: 1,
  model: "m",
  choices: [{ index: 0, text: value, finish_reason: null, logprobs: null, ...extra }],
});

describe("foldPiece", () => {
  it("joins the text of plain chat deltas and completion pieces of one choice, in order", () => {
    expect(foldPiece(chat("Hello"), chat(" world"))).toEqual(chat("Hello world"));
    expect(foldPiece(text("a"), text("b"))).toEqual(text("ab"));
    // The first piece's role stays; a role-only opening takes the text after it.
    const opening = chat(undefined, {}, { role: "assistant" });
    expect(foldPiece(opening, chat("Hi"))).toEqual(chat("Hi", {}, { role: "assistant" }));
    expect(foldPiece(chat("", {}, { role: "assistant" }), chat("Hi"))?.choices).toEqual(
      chat("Hi", {}, { role: "assistant" }).choices,
    );
  });

  it("leaves apart what the fold would change: a finish, logprobs, usage, tools, another choice or kind", () => {
    expect(foldPiece(chat("a"), chat("b", { finish_reason: "stop" }))).toBeUndefined();
    expect(foldPiece(chat("a", { finish_reason: "stop" }), chat("b"))).toBeUndefined();
    expect(foldPiece(chat("a"), chat("b", { logprobs: { content: [] } }))).toBeUndefined();
    expect(foldPiece(chat("a"), { ...chat("b"), usage: { completion_tokens: 2 } })).toBeUndefined();
    expect(foldPiece(chat("a"), chat("b", {}, { tool_calls: [{ index: 0 }] }))).toBeUndefined();
    expect(foldPiece(chat("a"), chat("b", {}, { role: "assistant" }))).toBeUndefined();
    expect(foldPiece(chat("a"), chat("b", { index: 1 }))).toBeUndefined();
    expect(foldPiece(chat("a"), chat(null))).toBeUndefined();
    expect(foldPiece(chat("a"), text("b"))).toBeUndefined();
    expect(foldPiece(text("a"), text(1))).toBeUndefined();
    expect(foldPiece(text("a"), text("b", { stop_reason: 7 }))).toBeUndefined();
    // Fields of the piece the fold would drop.
    expect(foldPiece(chat("a"), { ...chat("b"), prompt_token_ids: [1] })).toBeUndefined();
    expect(foldPiece(chat("a"), chat("b", { token_ids: [5] }))).toBeUndefined();
    const two = { ...chat("b"), choices: [chat("b").choices[0], { ...chat("c").choices[0], index: 1 }] };
    expect(foldPiece(chat("a"), two)).toBeUndefined();
    expect(foldPiece({ object: "something.else", choices: [] }, chat("b"))).toBeUndefined();
  });
});
