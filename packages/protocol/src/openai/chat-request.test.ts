import { describe, expect, it } from "vitest";
import { chatMaxTokens } from "./chat-request.js";
import { parseOpenAIRequest } from "./parse-request.js";

describe("ChatCompletionRequest via parseOpenAIRequest", () => {
  it("accepts a realistic openai client body with tools and a tool round-trip", () => {
    const body = {
      model: "skill-coding",
      messages: [
        { role: "developer", content: "You write Python." },
        { role: "system", content: [{ type: "text", text: "Answer with code only." }] },
        { role: "user", content: "Reverse a string", name: "ada" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "call_1", type: "function", function: { name: "run", arguments: '{"code":"1"}' } },
          ],
        },
        { role: "tool", tool_call_id: "call_1", content: "1" },
      ],
      max_completion_tokens: 300,
      temperature: 0.2,
      top_p: 1,
      n: 1,
      stream: true,
      stream_options: { include_usage: true },
      stop: "```\n",
      seed: 7,
      logprobs: true,
      top_logprobs: 3,
      response_format: { type: "json_object" },
      user: "u-1",
      tools: [
        { type: "function", function: { name: "run", parameters: { type: "object", properties: {} } } },
      ],
      tool_choice: "auto",
      parallel_tool_calls: false,
      metadata: { trace: "abc" },
    };
    const r = parseOpenAIRequest("chat.completions", body);
    expect(r.ok && r.value).toEqual(body);
  });

  it("accepts a refusal part in an assistant turn only, with its words as a string", () => {
    const turn = (role: string, part: Record<string, unknown>) =>
      parseOpenAIRequest("chat.completions", {
        model: "m",
        messages: [
          { role: "user", content: "x" },
          { role, content: [part] },
        ],
      });
    const accepted = turn("assistant", { type: "refusal", refusal: "I can't help with that." });
    expect(accepted.ok).toBe(true);
    const wrong = turn("assistant", { type: "refusal", refusal: 7 });
    expect(!wrong.ok && wrong.error.param).toBe("messages[1].content[0].refusal");
    const user = turn("user", { type: "refusal", refusal: "No." });
    expect(!user.ok && user.error.param).toBe("messages[1].content[0].type");
  });

  it("accepts json_schema response formats and max_tokens", () => {
    const r = parseOpenAIRequest("chat.completions", {
      model: "quality-gpt-4:batch",
      messages: [{ role: "user", content: "Give me a color" }],
      max_tokens: 50,
      response_format: {
        type: "json_schema",
        json_schema: { name: "color", schema: { type: "object" }, strict: true },
      },
    });
    expect(r.ok).toBe(true);
  });

  it.each([
    [{ model: "m", messages: [] }, "messages"],
    [{ model: "m", messages: [{ role: "bot", content: "x" }] }, "messages[0].role"],
    [{ model: "m", messages: [{ role: "user" }] }, "messages[0].content"],
    [{ model: "m", messages: [{ role: "user", content: 7 }] }, "messages[0].content"],
    [
      {
        model: "m",
        messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://x" } }] }],
      },
      "messages[0].content[0].type",
    ],
    [{ model: "m", messages: [{ role: "tool", content: "1" }] }, "messages[0].tool_call_id"],
    [{ model: "m", messages: [{ role: "user", content: "x" }], logprobs: 1 }, "logprobs"],
    [{ model: "m", messages: [{ role: "user", content: "x" }], top_logprobs: 21 }, "top_logprobs"],
    [
      { model: "m", messages: [{ role: "user", content: "x" }], response_format: { type: "xml" } },
      "response_format.type",
    ],
    [
      { model: "m", messages: [{ role: "user", content: "x" }], max_completion_tokens: -1 },
      "max_completion_tokens",
    ],
  ])("refuses %j at param %s", (body, param) => {
    const r = parseOpenAIRequest("chat.completions", body);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe("INVALID_REQUEST");
    expect(r.error.param).toBe(param);
    // The detail names the field the same way, as OpenAI's API writes it.
    expect(r.error.detail).toContain(`${param}: `);
  });
});

describe("chatMaxTokens", () => {
  it("takes the smaller of the two names", () => {
    expect(chatMaxTokens({ max_tokens: 500, max_completion_tokens: 300 })).toBe(300);
    expect(chatMaxTokens({ max_tokens: 500, max_completion_tokens: null })).toBe(500);
    expect(chatMaxTokens({ max_completion_tokens: 12 })).toBe(12);
    expect(chatMaxTokens({})).toBeUndefined();
  });
});
