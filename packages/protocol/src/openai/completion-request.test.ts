import { describe, expect, it } from "vitest";
import { CompletionRequest } from "./completion-request.js";
import { parseOpenAIRequest } from "./parse-request.js";

describe("CompletionRequest via parseOpenAIRequest", () => {
  it("accepts the body of the seed's vLLM experiment", () => {
    const body = {
      model: "llama-2-13b",
      prompt: "Who won the world series in 2020?",
      seed: 1,
      max_tokens: 200,
      ignore_eos: false,
      stream: false,
      echo: false,
    };
    const r = parseOpenAIRequest("completions", body);
    expect(r.ok && r.value).toEqual(body);
  });

  it("accepts what the openai client sends for a streamed completion, keeping unknown fields", () => {
    const body = {
      model: "mistral-7b:batch",
      prompt: ["Say hi", "Say bye"],
      max_tokens: 16,
      temperature: 0.7,
      top_p: 0.95,
      n: 2,
      stream: true,
      stream_options: { include_usage: true },
      stop: ["\n"],
      presence_penalty: 0,
      frequency_penalty: 0.5,
      logit_bias: { "50256": -100 },
      user: "user-42",
      top_k: -1,
      some_future_field: { nested: true },
    };
    const r = parseOpenAIRequest("completions", body);
    expect(r.ok && r.value).toEqual(body);
  });

  it("accepts the evaluator's loglikelihood request (echo + logprobs, token-id prompts)", () => {
    const r = parseOpenAIRequest("completions", {
      model: "quality-gpt-3.5",
      prompt: [
        [1, 450, 7483],
        [1, 450, 7483, 338],
      ],
      max_tokens: 0,
      echo: true,
      logprobs: 5,
      temperature: 0,
    });
    expect(r.ok).toBe(true);
  });

  it("accepts explicit nulls where the API allows them", () => {
    const r = parseOpenAIRequest("completions", {
      model: "m",
      prompt: "x",
      logprobs: null,
      stop: null,
      max_tokens: null,
    });
    expect(r.ok).toBe(true);
  });

  it.each([
    [{ prompt: "x" }, "model"],
    [{ model: "m" }, "prompt"],
    [{ model: "m", prompt: 42 }, "prompt"],
    [{ model: "m", prompt: [[1, 2], [-3]] }, "prompt[1][0]"],
    [{ model: "m", prompt: "x", logprobs: 21 }, "logprobs"],
    [{ model: "m", prompt: "x", logprobs: true }, "logprobs"],
    [{ model: "m", prompt: "x", max_tokens: 1.5 }, "max_tokens"],
    [{ model: "m", prompt: "x", max_tokens: "100" }, "max_tokens"],
    [{ model: "m", prompt: "x", temperature: 3 }, "temperature"],
    [{ model: "m", prompt: "x", stop: ["a", "b", "c", "d", "e"] }, "stop"],
    [{ model: "m", prompt: "x", stream_options: { include_usage: "yes" } }, "stream_options.include_usage"],
    [{ model: "m", prompt: "x", n: 0 }, "n"],
  ])("refuses %j at param %s", (body, param) => {
    const r = parseOpenAIRequest("completions", body);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe("INVALID_REQUEST");
    expect(r.error.param).toBe(param);
    expect(r.error.detail).toContain(param);
  });

  it("refuses a body that is not an object without a param", () => {
    const r = parseOpenAIRequest("completions", "hello");
    expect(!r.ok && r.error.param).toBeUndefined();
  });
});

describe("logprobs: false", () => {
  it("means no logprobs, as the seed's vLLM example sends it", () => {
    const parsed = CompletionRequest.parse({ model: "llama-2-13b", prompt: "Hi", logprobs: false });
    expect(parsed.logprobs).toBeNull();
    expect(CompletionRequest.safeParse({ model: "m", prompt: "Hi", logprobs: true }).success).toBe(false);
  });
});
