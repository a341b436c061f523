import { describe, expect, it } from "vitest";
import { responsesPresenter } from "./responses-answer.js";
import { translateResponsesRequest } from "./responses-request.js";

const echo = {
  instructions: null,
  maxOutputTokens: 2,
  temperature: null,
  topP: null,
  metadata: {},
  user: null,
};

const events = (sse: string) =>
  sse
    .split("\n\n")
    .filter((block) => block !== "")
    .map((block) => JSON.parse(block.split("\n")[1]!.slice("data: ".length)) as Record<string, unknown>);

describe("Responses answers from chat answers", () => {
  it("a chat answer cut by its length limit is an incomplete response with max_output_tokens", () => {
    const present = responsesPresenter(echo, "m:standard", 1);
    const body = present.unary({
      choices: [{ index: 0, message: { role: "assistant", content: "two words" }, finish_reason: "length" }],
      usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
    }) as Record<string, unknown>;
    expect(body).toMatchObject({
      status: "incomplete",
      incomplete_details: { reason: "max_output_tokens" },
      usage: { input_tokens: 5, output_tokens: 2, total_tokens: 7 },
      output: [
        { type: "message", status: "incomplete", content: [{ type: "output_text", text: "two words" }] },
      ],
    });
  });

  it("a stream whose last chunk says length ends with response.incomplete", () => {
    const present = responsesPresenter(echo, "m:standard", 1);
    const sse =
      present.open() +
      present.chunk({ choices: [{ index: 0, delta: { content: "two" }, finish_reason: null }] }) +
      present.chunk({ choices: [{ index: 0, delta: { content: " words" }, finish_reason: "length" }] }) +
      present.chunk({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 2 } }) +
      present.close();
    const all = events(sse);
    expect(all.at(-1)).toMatchObject({
      type: "response.incomplete",
      response: {
        status: "incomplete",
        usage: { output_tokens: 2 },
        incomplete_details: { reason: "max_output_tokens" },
      },
    });
    expect(all.find((e) => e.type === "response.output_text.done")).toMatchObject({ text: "two words" });
  });
});

describe("Responses requests as chat bodies", () => {
  it("maps the fields it offers and refuses non-text input without guessing", () => {
    const ok = translateResponsesRequest({ model: "m", input: "hi", stream: true, user: "u1" });
    expect(ok.ok && ok.value.chat).toEqual({
      model: "m",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      stream_options: { include_usage: true },
      user: "u1",
    });
    const image = translateResponsesRequest({
      model: "m",
      input: [{ role: "user", content: [{ type: "input_image", image_url: "https://x" }] }],
    });
    expect(!image.ok && image.error.code).toBe("UNSUPPORTED_RESPONSES_FEATURE");
    const none = translateResponsesRequest({ model: "m", input: [{ role: "assistant", content: "x" }] });
    expect(!none.ok && none.error.param).toBe("input");
  });
});
