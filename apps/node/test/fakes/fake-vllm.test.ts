import { afterEach, describe, expect, it } from "vitest";
import { type FakeTextEngine, startFakeVllm } from "./fake-vllm.js";

const fakes: FakeTextEngine[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((fake) => fake.close()));
});

async function post(fake: FakeTextEngine, path: string, body: unknown) {
  const response = await fetch(`${fake.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, text: await response.text() };
}

describe("fake vLLM", () => {
  it("scores prompt tokens with echo, the first null, and is seed-deterministic", async () => {
    const fake = await startFakeVllm();
    fakes.push(fake);
    const body = { model: "m", prompt: "a b c", max_tokens: 2, echo: true, logprobs: 2, seed: 5 };
    const first = JSON.parse((await post(fake, "/v1/completions", body)).text);
    const second = JSON.parse((await post(fake, "/v1/completions", body)).text);
    expect(first.choices[0].text).toBe(second.choices[0].text);
    expect(first.choices[0].text.startsWith("a b c")).toBe(true);
    expect(first.choices[0].logprobs.token_logprobs).toHaveLength(5);
    expect(first.choices[0].logprobs.token_logprobs[0]).toBeNull();
    expect(first.choices[0].logprobs.top_logprobs[0]).toBeNull();
    expect(fake.calls["POST /v1/completions"]).toBe(2);
  });

  it("ignores echo in llama.cpp mode", async () => {
    const fake = await startFakeVllm({ flavor: "llamacpp" });
    fakes.push(fake);
    const answer = JSON.parse(
      (await post(fake, "/v1/completions", { prompt: "a b c", max_tokens: 2, echo: true, logprobs: 1 })).text,
    );
    // llama.cpp's own logprobs shape on completions: chat-shaped, the generated tokens only.
    expect(answer.choices[0].logprobs.content).toHaveLength(2);
    expect(answer.choices[0].logprobs.token_logprobs).toBeUndefined();
    expect(answer.choices[0].text.startsWith("a b c")).toBe(false);
  });

  it("streams SSE with a usage piece and [DONE], and injects failures", async () => {
    const fake = await startFakeVllm();
    fakes.push(fake);
    const streamed = await post(fake, "/v1/chat/completions", {
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 2,
      stream: true,
      stream_options: { include_usage: true },
    });
    const events = streamed.text.split("\n\n").filter((event) => event !== "");
    expect(events.at(-1)).toBe("data: [DONE]");
    expect(JSON.parse(events.at(-2)!.slice(6))).toMatchObject({
      choices: [],
      usage: { completion_tokens: 2 },
    });
    fake.faults.fail = { status: 500, times: 1 };
    expect((await post(fake, "/v1/completions", { prompt: "x" })).status).toBe(500);
    expect((await post(fake, "/v1/completions", { prompt: "x" })).status).toBe(200);
  });
});
