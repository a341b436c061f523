import type { RelayStreamChunk } from "@pocket-ai/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_ENGINE_EVENT_CHARS } from "../src/backends/engine-sse.js";
import { TestGateway } from "./helpers/node-harness.js";
import { nodeBehindEngine } from "./helpers/scripted-engine.js";

let running: Awaited<ReturnType<typeof nodeBehindEngine>> | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe("a streamed relay whose engine sends an event that never ends", () => {
  it("is refused once the event passes the limit, not held in memory until the engine's timeout", async () => {
    let closed = false;
    running = await nodeBehindEngine(
      (_body, res) => {
        res.on("close", () => {
          closed = true;
        });
        res.writeHead(200, { "content-type": "text/event-stream" });
        // One `data:` line that goes on past the limit, never ended by a blank line: before, the
        // node kept every byte (a faster engine fills its memory) until the engine's timeout.
        res.write(`data: {"choices":[{"index":0,"text":"`);
        const block = "x".repeat(1024 * 1024);
        for (let sent = 0; sent <= MAX_ENGINE_EVENT_CHARS; sent += block.length) res.write(block);
      },
      { timeoutMs: 20_000 },
    );
    const harness = running.harness;
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
