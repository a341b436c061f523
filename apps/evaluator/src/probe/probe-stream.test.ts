import { createServer, type Server } from "node:http";
import { performance } from "node:perf_hooks";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { streamChat, streamCompletion } from "./probe-stream.js";

/** How long the test server waits between a blank piece and the first word. */
const HELD_MS = 300;

/** An OpenAI-style server that streams a blank piece at once and the answer only `HELD_MS` later. */
let server: Server;
let client: OpenAI;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chat = req.url?.endsWith("/chat/completions") === true;
    const piece = (text: string, finish: string | null = null) =>
      `data: ${JSON.stringify({
        id: "x",
        object: chat ? "chat.completion.chunk" : "text_completion",
        created: 0,
        model: "m",
        choices: [
          chat
            ? { index: 0, delta: { content: text }, finish_reason: finish }
            : { index: 0, text, finish_reason: finish },
        ],
      })}\n\n`;
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(piece(" \n"));
      setTimeout(() => {
        res.write(piece("Paris"));
        res.end(`${piece("", "stop")}data: [DONE]\n\n`);
      }, HELD_MS);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: "k", maxRetries: 0 });
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("a streamed probe's time to first token", () => {
  const request = () => ({ headers: {}, signal: new AbortController().signal });

  it("counts from the first visible text, not a blank the node sent at once", async () => {
    const completion = await streamCompletion(
      client,
      { model: "m", prompt: "The capital" },
      request(),
      performance.now(),
    );
    expect(completion.text).toBe(" \nParis");
    expect(completion.timing.ttftMs).toBeGreaterThanOrEqual(HELD_MS);
    const chat = await streamChat(
      client,
      { model: "m", messages: [{ role: "user", content: "The capital?" }] },
      request(),
      performance.now(),
    );
    expect(chat.timing.ttftMs).toBeGreaterThanOrEqual(HELD_MS);
  });
});
