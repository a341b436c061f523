import { describe, expect, it } from "vitest";
import type { ChatMessage } from "./chat-message.js";
import { chatPromptText, countPromptTokens, promptText } from "./prompt-text.js";

const words = (text: string) => text.split(/\s+/).filter((w) => w !== "").length;

describe("promptText", () => {
  it("lists one input per prompt in every prompt form", () => {
    expect(promptText({ prompt: "hello" })).toEqual([{ text: "hello" }]);
    expect(promptText({ prompt: ["a", "b"] })).toEqual([{ text: "a" }, { text: "b" }]);
    expect(promptText({ prompt: [1, 2, 3] })).toEqual([{ tokenIds: [1, 2, 3] }]);
    expect(promptText({ prompt: [[1], [2, 3]] })).toEqual([{ tokenIds: [1] }, { tokenIds: [2, 3] }]);
  });

  it("counts text with the given tokenizer and token ids as they are", () => {
    expect(countPromptTokens(promptText({ prompt: ["one two", "three"] }), words)).toBe(3);
    expect(countPromptTokens(promptText({ prompt: [[1], [2, 3]] }), words)).toBe(3);
  });
});

describe("chatPromptText", () => {
  it("flattens roles, text parts and tool calls deterministically", () => {
    const messages: ChatMessage[] = [
      { role: "system", content: "Be brief." },
      {
        role: "user",
        content: [
          { type: "text", text: "Part one" },
          { type: "text", text: "part two" },
        ],
      },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "c", type: "function", function: { name: "lookup", arguments: '{"q":"x"}' } }],
      },
      { role: "tool", tool_call_id: "c", content: "42" },
    ];
    expect(chatPromptText(messages)).toBe(
      'system: Be brief.\nuser: Part one\npart two\nassistant: lookup({"q":"x"})\ntool: 42',
    );
  });

  it("reads an assistant's refusal part as text of its turn", () => {
    const messages: ChatMessage[] = [
      { role: "user", content: "Pick a lock" },
      {
        role: "assistant",
        content: [
          { type: "refusal", refusal: "I can't help with that." },
          { type: "text", text: "Ask a locksmith." },
        ],
      },
    ];
    expect(chatPromptText(messages)).toBe(
      "user: Pick a lock\nassistant: I can't help with that.\nAsk a locksmith.",
    );
  });
});
