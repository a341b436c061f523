import { describe, expect, it } from "vitest";
import { protocolError, toOpenAIError } from "../errors/index.js";
import { ChatCompletionChunk, ChatCompletionResponse } from "./chat-response.js";
import { CompletionChunk, CompletionResponse } from "./completion-response.js";
import { OpenAIErrorBody } from "./error-body.js";
import { ImagesResponse } from "./images-response.js";

const base = { id: "x-1", created: 1_700_000_000, model: "llama-2-13b:standard" };

describe("response schemas", () => {
  it("accept a vLLM echo + logprobs completion, extras included", () => {
    const body = {
      ...base,
      object: "text_completion",
      choices: [
        {
          index: 0,
          text: "The cat sat",
          logprobs: {
            tokens: ["The", " cat", " sat"],
            token_logprobs: [null, -2.5, -0.3],
            top_logprobs: [null, { " cat": -2.5, " dog": -2.9 }, { " sat": -0.3 }],
            text_offset: [0, 3, 7],
          },
          finish_reason: "length",
          stop_reason: null,
        },
      ],
      usage: { prompt_tokens: 3, completion_tokens: 0, total_tokens: 3 },
    };
    expect(CompletionResponse.parse(body)).toEqual(body);
  });

  it("accept completion and chat chunks, including the final usage chunk", () => {
    expect(
      CompletionChunk.safeParse({
        ...base,
        object: "text_completion",
        choices: [{ index: 0, text: " Dodgers", logprobs: null, finish_reason: null }],
      }).success,
    ).toBe(true);
    const chat = { ...base, object: "chat.completion.chunk" };
    expect(
      ChatCompletionChunk.safeParse({
        ...chat,
        choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }],
        usage: null,
      }).success,
    ).toBe(true);
    expect(
      ChatCompletionChunk.safeParse({
        ...chat,
        choices: [],
        usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
      }).success,
    ).toBe(true);
  });

  it("accept a chat completion with tool calls and logprobs", () => {
    const r = ChatCompletionResponse.safeParse({
      ...base,
      object: "chat.completion",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: null,
            tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }],
          },
          finish_reason: "tool_calls",
          logprobs: {
            content: [
              {
                token: "a",
                logprob: -1,
                bytes: [97],
                top_logprobs: [{ token: "a", logprob: -1, bytes: null }],
              },
            ],
          },
        },
      ],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    });
    expect(r.success).toBe(true);
  });

  it("refuse a wrong object type, a negative token count and an unknown finish reason", () => {
    expect(CompletionResponse.safeParse({ ...base, object: "chat.completion", choices: [] }).success).toBe(
      false,
    );
    expect(
      CompletionResponse.safeParse({
        ...base,
        object: "text_completion",
        choices: [],
        usage: { prompt_tokens: -1, completion_tokens: 0, total_tokens: 0 },
      }).success,
    ).toBe(false);
    expect(
      CompletionResponse.safeParse({
        ...base,
        object: "text_completion",
        choices: [{ index: 0, text: "", finish_reason: "bored" }],
      }).success,
    ).toBe(false);
  });

  it("accept images and error bodies, including the protocol's own error mapping", () => {
    expect(
      ImagesResponse.safeParse({ created: 1, data: [{ b64_json: "iVBORw0KGgo=", revised_prompt: "a cat" }] })
        .success,
    ).toBe(true);
    expect(ImagesResponse.safeParse({ created: 1, data: [{ url: "https://x" }] }).success).toBe(false);
    expect(
      OpenAIErrorBody.safeParse(toOpenAIError(protocolError("UNKNOWN_MODEL", "no such model", "model")))
        .success,
    ).toBe(true);
    expect(
      OpenAIErrorBody.safeParse({
        error: { message: "x", type: "invalid_request_error", param: null, code: null },
      }).success,
    ).toBe(true);
    expect(OpenAIErrorBody.safeParse({ message: "x" }).success).toBe(false);
  });
});
