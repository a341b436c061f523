import type { RelayStreamChunk } from "@pocket-ai/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { TestGateway } from "./helpers/node-harness.js";
import { nodeBehindEngine } from "./helpers/scripted-engine.js";

let running: Awaited<ReturnType<typeof nodeBehindEngine>> | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

const event = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
const piece = (text: string, finish: string | null) =>
  event({
    id: "c",
    object: "text_completion",
    created: 1,
    model: "m",
    choices: [{ index: 0, text, finish_reason: finish, logprobs: null }],
  });

describe("a streamed relay whose engine keeps its response open after [DONE]", () => {
  it("ends ok at [DONE], not when the engine's call times out", async () => {
    let streams = 0;
    running = await nodeBehindEngine(
      (_body, res) => {
        streams += 1;
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(
          `${piece("Hi", "stop")}${event({ id: "c", object: "text_completion", created: 1, model: "m", choices: [], usage: { prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 } })}data: [DONE]\n\n${piece(" never read", null)}`,
        );
        // The response is never ended: only the backend's timeout would end the wait for it.
      },
      { timeoutMs: 2_000 },
    );
    const harness = running.harness;
    const chunks: RelayStreamChunk[] = [];
    const request = new TestGateway().request({
      model: "llama-2-13b",
      prompt: "Hello",
      max_tokens: 50,
      stream: true,
    });
    for await (const c of await harness.client.relayStream.mutate(request))
      chunks.push(c as RelayStreamChunk);
    expect(streams).toBe(1);
    // Before, the stream waited for the response's end until the backend's 2 s timeout, and a whole
    // answer ended STREAM_INTERRUPTED: never claimed.
    expect(chunks.at(-1)?.final?.outcome).toBe("ok");
    expect(chunks.at(-1)?.final?.usage.outputTokens).toBe(1);
    const texts = chunks.map((c) => (c.data as { choices?: { text?: string }[] } | null)?.choices?.[0]?.text);
    expect(texts).not.toContain(" never read");
  });
});
