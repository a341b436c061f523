import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { RelayStreamChunk } from "@pocket-ai/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_ENGINE_EVENT_CHARS } from "../src/backends/engine-sse.js";
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

describe("a streamed relay whose engine sends an event that never ends", () => {
  it("is refused once the event passes the limit, not held in memory until the engine's timeout", async () => {
    let closed = false;
    engine = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        if (req.url !== "/v1/completions") {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ data: [{ id: "m" }] }));
          return;
        }
        res.on("close", () => {
          closed = true;
        });
        res.writeHead(200, { "content-type": "text/event-stream" });
        // One `data:` line that goes on past the limit, never ended by a blank line: before, the
        // node kept every byte (a faster engine fills its memory) until the engine's timeout.
        res.write(`data: {"choices":[{"index":0,"text":"`);
        const block = "x".repeat(1024 * 1024);
        for (let sent = 0; sent <= MAX_ENGINE_EVENT_CHARS; sent += block.length) res.write(block);
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
          backends: [{ kind: "vllm", url, model: "m", probeAtStart: false, timeoutMs: 20_000 }],
        },
      ],
    });
    const request = new TestGateway().request({
      model: "llama-2-13b",
      prompt: "Hello",
      max_tokens: 50,
      stream: true,
    });
    const chunks: RelayStreamChunk[] = [];
    for await (const c of await harness.client.relayStream.mutate(request))
      chunks.push(c as RelayStreamChunk);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.final?.error?.code).toBe("BACKEND_ERROR");
    // The engine's call was closed, not left to run.
    await expect.poll(() => closed).toBe(true);
  });
});
