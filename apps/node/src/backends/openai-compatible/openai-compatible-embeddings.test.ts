import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Effect, Exit } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { backendConfig } from "../../../test/fakes/backend-config.js";
import { packEmbeddingAnswer } from "../../relay/embedding-answer.js";
import { makeOpenAICompatibleBackend, type OpenAICompatibleKind } from "./openai-compatible.js";

/** An engine's `/v1/embeddings` as vLLM, llama.cpp and Ollama answer it: float vectors. */
async function startEmbeddingEngine(dimensions: number) {
  const requests: Record<string, unknown>[] = [];
  const server: Server = createServer((req, res) => {
    let text = "";
    req.on("data", (part: Buffer) => {
      text += part.toString();
    });
    req.on("end", () => {
      const body = JSON.parse(text) as { input: string[]; model: string };
      requests.push({ path: req.url, body });
      const data = body.input.map((s, index) => ({
        object: "embedding",
        index,
        embedding: Array.from({ length: dimensions }, (_, d) => (d === s.length % dimensions ? 0.5 : 0)),
      }));
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          object: "list",
          model: body.model,
          data,
          usage: { prompt_tokens: 3, total_tokens: 3 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

describe("openai-compatible embeddings", () => {
  for (const kind of ["vllm", "llamacpp", "ollama"] as const) {
    it(`${kind}: forwards the inputs as floats under the engine's model name; the node packs them`, async () => {
      const engine = await startEmbeddingEngine(4);
      closers.push(engine.close);
      const config = backendConfig({ kind, url: engine.url, model: "nomic-embed-text:v1.5" });
      const backend = makeOpenAICompatibleBackend({
        ...config,
        kind: kind as OpenAICompatibleKind,
        url: engine.url,
      });
      const answer = await Effect.runPromise(
        backend.embeddings!({ model: "nomic-embed-text", input: ["ab", "abc"], dimensions: 4 }),
      );
      expect(engine.requests.at(-1)).toEqual({
        path: "/v1/embeddings",
        body: { model: "nomic-embed-text:v1.5", input: ["ab", "abc"], encoding_format: "float" },
      });
      const packed = await Effect.runPromise(
        packEmbeddingAnswer(answer, { inputs: 2, dimensions: 4, inputTokens: 2 }, backend.id),
      );
      expect(packed).toEqual({
        object: "list",
        model: "nomic-embed-text:v1.5",
        data: [
          { object: "embedding", index: 0, embedding: "AAAAAAAAAAAAAAA/AAAAAA==" },
          { object: "embedding", index: 1, embedding: "AAAAAAAAAAAAAAAAAAAAPw==" },
        ],
        usage: { prompt_tokens: 2, total_tokens: 2 },
      });
    });
  }

  it("an engine answer of the wrong size or count is the backend's fault, never signed", async () => {
    const engine = await startEmbeddingEngine(3);
    closers.push(engine.close);
    const config = backendConfig({ kind: "vllm", url: engine.url });
    const backend = makeOpenAICompatibleBackend({ ...config, kind: "vllm", url: engine.url });
    const answer = await Effect.runPromise(backend.embeddings!({ model: "m", input: ["a"] }));
    const wrongSize = await Effect.runPromiseExit(
      packEmbeddingAnswer(answer, { inputs: 1, dimensions: 4, inputTokens: 1 }, backend.id),
    );
    expect(Exit.isFailure(wrongSize)).toBe(true);
    const wrongCount = await Effect.runPromiseExit(
      packEmbeddingAnswer(answer, { inputs: 2, dimensions: 3, inputTokens: 1 }, backend.id),
    );
    expect(Exit.isFailure(wrongCount)).toBe(true);
  });
});
