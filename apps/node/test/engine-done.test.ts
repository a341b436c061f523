import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { RelayStreamChunk } from "@pocket-ai/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { type NodeHarness, startTestNode, TestGateway } from "./helpers/node-harness.js";

let harness: NodeHarness | undefined;
let engine: Server | undefined;
afterEach(async () => {
  await harness?.stop();
  engine?.closeAllConnections();
  await new Promise<void>((r) => (engine === undefined ? r() : engine.close(() => r())));
  harness = undefined;
  engine = undefined;
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
    engine = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        if (req.url !== "/v1/completions") {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ data: [{ id: "m" }] }));
          return;
        }
        streams += 1;
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(
          `${piece("Hi", "stop")}${event({ id: "c", object: "text_completion", created: 1, model: "m", choices: [], usage: { prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 } })}data: [DONE]\n\n${piece(" never read", null)}`,
        );
        // The response is never ended: only the backend's timeout would end the wait for it.
      });
    });
    await new Promise<void>((r) => engine?.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(engine.address() as AddressInfo).port}`;
    harness = await startTestNode({
      services: [
        {
          serviceId: "llama-2-13b",
          tiers: ["standard"],
          model: { declared: "llama-2-13b-chat", family: "llama-2" },
          backends: [{ kind: "vllm", url, model: "m", probeAtStart: false, timeoutMs: 2_000 }],
        },
      ],
    });
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
