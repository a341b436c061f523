import { type CompletionLogprobs, CompletionResponse } from "@pocket-ai/protocol";
import { Cause, Chunk, Effect, Exit, Fiber, Option, Scope, Stream } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { backendConfig } from "../../../test/fakes/backend-config.js";
import { latch, until } from "../../../test/fakes/fake-server.js";
import { type FakeTextEngine, type FakeTextFlavor, startFakeVllm } from "../../../test/fakes/fake-vllm.js";
import type { Backend, BackendError, PieceIterator } from "../backend.js";
import { MAX_ENGINE_ERROR_BYTES } from "../engine-http.js";
import { MAX_ERROR_BODY_CHARS } from "../engine-sse.js";
import { makeOpenAICompatibleBackend, type OpenAICompatibleKind } from "./openai-compatible.js";

const fakes: FakeTextEngine[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((fake) => fake.close()));
});

async function setup(
  flavor: FakeTextFlavor = "vllm",
  timeoutMs = 5_000,
): Promise<{ fake: FakeTextEngine; backend: Backend }> {
  const fake = await startFakeVllm({ flavor, model: "engine-model" });
  fakes.push(fake);
  const config = backendConfig({ kind: flavor, url: fake.url, model: "engine-model", timeoutMs });
  const backend = makeOpenAICompatibleBackend({
    ...config,
    kind: flavor as OpenAICompatibleKind,
    url: fake.url,
  });
  return { fake, backend };
}

function failure<A>(exit: Exit.Exit<A, BackendError>): BackendError {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure");
  const error = Cause.failureOption(exit.cause);
  if (Option.isNone(error)) throw new Error(`expected a typed failure, got ${Cause.pretty(exit.cause)}`);
  return error.value;
}

/**
 * An engine that answers every call with `status` and a body that never ends (`word` repeated):
 * a caller must neither wait for the body's end nor keep it all. `closed` resolves once the caller
 * closed the connection.
 */
async function endlessErrorEngine(status: number, word: string) {
  const { createServer } = await import("node:http");
  let sent = 0;
  const closed = latch();
  const server = createServer((_request, response) => {
    response.writeHead(status, { "content-type": "text/plain" });
    const line = `${word.repeat(100)}\n`;
    const more = () => {
      while (!response.destroyed && response.write(line)) sent += line.length;
    };
    response.on("drain", more);
    response.on("close", () => closed.open());
    more();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const backend = makeOpenAICompatibleBackend({
    ...backendConfig({ kind: "vllm", url, timeoutMs: 60_000 }),
    kind: "vllm",
    url,
  });
  return {
    backend,
    closed: closed.promise,
    sent: () => sent,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

describe("openai-compatible backend", () => {
  it("completes with the engine's model name and answers with the caller's", async () => {
    const { fake, backend } = await setup();
    const response = await Effect.runPromise(
      backend.completions({ model: "llama-2-13b", prompt: "Once upon a time", max_tokens: 4, seed: 7 }),
    );
    expect(response.model).toBe("llama-2-13b");
    expect(response.usage).toEqual({ prompt_tokens: 4, completion_tokens: 4, total_tokens: 8 });
    expect(fake.requests.at(-1)?.body).toMatchObject({ model: "engine-model" });
    const again = await Effect.runPromise(
      backend.completions({ model: "llama-2-13b", prompt: "Once upon a time", max_tokens: 4, seed: 7 }),
    );
    expect((again.choices as { text: string }[])[0]?.text).toBe(
      (response.choices as { text: string }[])[0]?.text,
    );
  });

  it("returns vLLM's prompt logprobs with echo, the first one null", async () => {
    const { backend } = await setup();
    const response = await Effect.runPromise(
      backend.completions({ prompt: "The capital of France is", max_tokens: 0, echo: true, logprobs: 1 }),
    );
    const choice = (
      response.choices as { text: string; logprobs: { token_logprobs: (number | null)[] } }[]
    )[0];
    expect(choice?.text).toBe("The capital of France is");
    expect(choice?.logprobs.token_logprobs).toHaveLength(5);
    expect(choice?.logprobs.token_logprobs[0]).toBeNull();
    expect(choice?.logprobs.token_logprobs[1]).toBeLessThan(0);
  });

  it("answers chat completions", async () => {
    const { fake, backend } = await setup("tgi");
    const response = await Effect.runPromise(
      backend.chatCompletions({ model: "m", messages: [{ role: "user", content: "hi" }], max_tokens: 3 }),
    );
    expect(response.object).toBe("chat.completion");
    expect(fake.calls["POST /v1/chat/completions"]).toBe(1);
  });

  it("streams pieces in order, ending with the usage piece", async () => {
    const { fake, backend } = await setup();
    const pieces = Chunk.toArray(
      await Effect.runPromise(
        Stream.runCollect(
          backend.stream("completions", { model: "svc", prompt: "a b c", max_tokens: 5, seed: 1 }),
        ),
      ),
    );
    expect(pieces).toHaveLength(6);
    expect(pieces.every((piece) => piece.model === "svc")).toBe(true);
    const texts = pieces.slice(0, 5).map((piece) => (piece.choices as { text: string }[])[0]?.text);
    const unary = await Effect.runPromise(backend.completions({ prompt: "a b c", max_tokens: 5, seed: 1 }));
    expect(texts.join("")).toBe((unary.choices as { text: string }[])[0]?.text);
    expect(pieces[5]?.usage).toEqual({ prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 });
    const sent = fake.requests.find((request) => request.path === "/v1/completions")?.body;
    expect(sent).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it("turns llama.cpp's chat-shaped completion logprobs into the completions API's arrays, unary and streamed", async () => {
    const { fake, backend } = await setup("llamacpp");
    const body = { model: "llama-2-13b", prompt: "Once upon a time", max_tokens: 5, logprobs: 2, seed: 3 };
    const unary = await Effect.runPromise(backend.completions(body));
    // The engine answered in its own shape…
    expect(fake.requests.at(-1)?.path).toBe("/v1/completions");
    const parsed = CompletionResponse.parse(unary);
    const choice = parsed.choices[0]!;
    const logprobs = choice.logprobs!;
    // …and the client gets one entry per generated token, offsets into the choice's text.
    expect(logprobs.tokens.join("")).toBe(choice.text);
    expect(logprobs.token_logprobs).toHaveLength(logprobs.tokens.length);
    expect(logprobs.token_logprobs.every((lp) => typeof lp === "number" && lp <= 0)).toBe(true);
    expect(logprobs.text_offset).toEqual(
      logprobs.tokens.map((_, i) => logprobs.tokens.slice(0, i).join("").length),
    );
    expect(logprobs.top_logprobs?.every((top) => top !== null && Object.keys(top).length > 0)).toBe(true);
    const pieces = Chunk.toArray(
      await Effect.runPromise(Stream.runCollect(backend.stream("completions", { ...body, stream: true }))),
    );
    const streamed = pieces
      .map(
        (piece) => (piece.choices as { logprobs?: CompletionLogprobs | null }[] | undefined)?.[0]?.logprobs,
      )
      .filter((lp): lp is CompletionLogprobs => lp !== null && lp !== undefined);
    expect(streamed.flatMap((lp) => lp.tokens)).toEqual(logprobs.tokens);
    expect(streamed.flatMap((lp) => lp.token_logprobs)).toEqual(logprobs.token_logprobs);
    // Offsets run on across pieces.
    expect(streamed.flatMap((lp) => lp.text_offset)).toEqual(logprobs.text_offset);
  });

  it("passes on at most top_logprobs alternatives per chat token, unary and streamed, when the engine lists one more", async () => {
    const { fake, backend } = await setup("vllm");
    fake.faults.extraTopLogprob = true;
    type Token = { top_logprobs: unknown[] };
    const tokensOf = (answer: Record<string, unknown>) =>
      ((answer.choices as { logprobs?: { content?: Token[] } | null }[])[0]?.logprobs?.content ??
        []) as Token[];
    for (const topLogprobs of [2, undefined]) {
      const body = {
        model: "llama-2-13b",
        messages: [{ role: "user", content: "Tell me a story." }],
        max_tokens: 4,
        seed: 5,
        logprobs: true,
        ...(topLogprobs === undefined ? {} : { top_logprobs: topLogprobs }),
      };
      const unary = tokensOf(await Effect.runPromise(backend.chatCompletions(body)));
      const pieces = Chunk.toArray(
        await Effect.runPromise(
          Stream.runCollect(backend.stream("chat.completions", { ...body, stream: true })),
        ),
      );
      const streamed = pieces.flatMap((piece) => tokensOf(piece));
      for (const tokens of [unary, streamed]) {
        expect(tokens.length).toBeGreaterThan(0);
        for (const token of tokens) {
          expect(token.top_logprobs).toHaveLength(topLogprobs ?? 0);
          // The most probable kept: not the improbable token the engine listed first.
          expect(token.top_logprobs).not.toContainEqual(expect.objectContaining({ token: "zzz-sampled" }));
        }
      }
    }
    // The engine did list one more: the node cut it.
    fake.faults.extraTopLogprob = true;
    const raw = await fetch(`${fake.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "engine-model",
        messages: [{ role: "user", content: "Tell me a story." }],
        max_tokens: 2,
        logprobs: true,
        top_logprobs: 2,
      }),
    });
    expect(tokensOf((await raw.json()) as Record<string, unknown>)[0]?.top_logprobs).toHaveLength(3);
  });

  it("sends Ollama a list of prompts as one call per prompt, unary and streamed, choices in prompt order", async () => {
    const { fake, backend } = await setup("ollama");
    const prompts = ["The sky is", "Two and two make", "Once upon a time"];
    const body = { model: "llama-2-13b", prompt: prompts, max_tokens: 3, temperature: 0, seed: 11 };
    const merged = CompletionResponse.parse(await Effect.runPromise(backend.completions(body)));
    expect(merged.choices.map((choice) => choice.index)).toEqual([0, 1, 2]);
    const sent = fake.requests
      .filter((r) => r.path === "/v1/completions")
      .map((r) => (r.body as { prompt: unknown }).prompt);
    expect([...sent].sort()).toEqual([...prompts].sort());
    // Each choice is its own prompt's answer, and the usage is the sum of the three calls.
    for (const [i, prompt] of prompts.entries()) {
      const alone = CompletionResponse.parse(
        await Effect.runPromise(backend.completions({ ...body, prompt })),
      );
      expect(merged.choices[i]?.text).toBe(alone.choices[0]?.text);
    }
    const single = await Promise.all(
      prompts.map((prompt) => Effect.runPromise(backend.completions({ ...body, prompt }))),
    );
    const sum = (key: "prompt_tokens" | "completion_tokens") =>
      single.reduce((total, answer) => total + ((answer.usage as Record<string, number>)[key] ?? 0), 0);
    expect(merged.usage).toMatchObject({
      prompt_tokens: sum("prompt_tokens"),
      completion_tokens: sum("completion_tokens"),
    });
    const pieces = Chunk.toArray(
      await Effect.runPromise(Stream.runCollect(backend.stream("completions", { ...body, stream: true }))),
    );
    const texts = ["", "", ""];
    for (const piece of pieces)
      for (const choice of (piece.choices as { index: number; text: string }[]) ?? [])
        texts[choice.index] += choice.text;
    expect(texts).toEqual(merged.choices.map((choice) => choice.text));
    const usagePieces = pieces.filter((piece) => piece.usage !== undefined && piece.usage !== null);
    expect(usagePieces).toHaveLength(1);
    expect(pieces.at(-1)?.usage).toMatchObject(merged.usage ?? {});
    // The engine itself refuses a list (its prompt is one string): the adapter never sends one.
    expect(fake.requests.every((r) => typeof (r.body as { prompt?: unknown }).prompt !== "object")).toBe(
      true,
    );
  });

  it("streams chat deltas", async () => {
    const { backend } = await setup("llamacpp");
    const pieces = await Effect.runPromise(
      Stream.runCollect(
        backend.stream("chat.completions", { messages: [{ role: "user", content: "x" }], max_tokens: 2 }),
      ),
    );
    expect(Chunk.toArray(pieces).map((piece) => piece.object)).toEqual(
      Array(4).fill("chat.completion.chunk"),
    );
  });

  it("aborts the upstream request when the stream is interrupted", async () => {
    const { fake, backend } = await setup();
    // The engine sends two pieces and holds the stream open: only an abort ends it.
    const rest = latch();
    fake.faults.pieceGate = { after: 2, open: rest.promise };
    const firstTwo = await Effect.runPromise(
      Stream.runCollect(Stream.take(backend.stream("completions", { prompt: "x", max_tokens: 200 }), 2)),
    );
    expect(Chunk.size(firstTwo)).toBe(2);
    await fake.waitForAbort(1);
    const fiber = Effect.runFork(
      Stream.runDrain(backend.stream("completions", { prompt: "x", max_tokens: 200 })),
    );
    // Interrupt once the engine has the second request (whatever the machine's load).
    await until(() => fake.calls["POST /v1/completions"] === 2, "the second request at the engine");
    await Effect.runPromise(Fiber.interrupt(fiber));
    await fake.waitForAbort(2);
    expect(fake.aborted()).toBe(2);
    rest.open();
  });

  it("closing an opened stream's scope aborts the engine's call, and a read after it fails with BackendUnavailable", async () => {
    const { fake, backend } = await setup();
    // The engine sends two pieces and holds the stream open: only an abort ends it.
    const rest = latch();
    fake.faults.pieceGate = { after: 2, open: rest.promise };
    const scope = Effect.runSync(Scope.make());
    const pieces = await Effect.runPromise(
      backend.openStream!("completions", { prompt: "x", max_tokens: 200 }).pipe(Scope.extend(scope)),
    );
    expect((await pieces.next()).done).toBe(false);
    await Effect.runPromise(Scope.close(scope, Exit.void));
    await fake.waitForAbort(1);
    // A piece already received may still come; the read past it fails.
    let read: unknown;
    for (let i = 0; i < 3 && read === undefined; i++)
      read = await pieces.next().then(
        (next) => (next.done === true ? "ended" : undefined),
        (error: unknown) => error,
      );
    expect(read).toMatchObject({ _tag: "BackendUnavailable", reason: "stream closed" });
    rest.open();
  });

  it("fails a cut stream with BackendUnavailable after the pieces it got", async () => {
    const { fake, backend } = await setup();
    fake.faults.dropAfterPieces = 2;
    const seen: unknown[] = [];
    const exit = await Effect.runPromiseExit(
      Stream.runForEach(backend.stream("completions", { prompt: "x", max_tokens: 10 }), (piece) =>
        Effect.sync(() => seen.push(piece)),
      ),
    );
    expect(seen).toHaveLength(2);
    expect(failure(exit)._tag).toBe("BackendUnavailable");
  });

  it("fails on an error event in the middle of a stream", async () => {
    const { createServer } = await import("node:http");
    const server = createServer((_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.end(
        'data: {"choices":[{"index":0,"text":"a"}]}\n\ndata: {"object":"error","message":"engine died"}\n\n',
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const backend = makeOpenAICompatibleBackend({
      ...backendConfig({ kind: "vllm", url }),
      kind: "vllm",
      url,
    });
    const exit = await Effect.runPromiseExit(
      Stream.runCollect(backend.stream("completions", { prompt: "x" })),
    );
    expect(failure(exit)).toMatchObject({ _tag: "BackendUnavailable" });
    expect((failure(exit) as { reason: string }).reason).toContain("engine died");
    await new Promise((resolve) => server.close(resolve));
  });

  /** A completion piece of `text`, as an engine streams it. */
  const ssePiece = (text: string) =>
    `data: ${JSON.stringify({ object: "text_completion", model: "served", choices: [{ index: 0, text }] })}\n\n`;

  /** Opens a completion stream on an engine whose answer `respond` writes, and hands it to `use`. */
  const withSseEngine = async (
    respond: (response: import("node:http").ServerResponse) => void,
    use: (pieces: PieceIterator) => Promise<void>,
  ) => {
    const { createServer } = await import("node:http");
    const server = createServer((_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      respond(response);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const scope = Effect.runSync(Scope.make());
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const backend = makeOpenAICompatibleBackend({
        ...backendConfig({ kind: "vllm", url }),
        kind: "vllm",
        url,
      });
      await use(
        await Effect.runPromise(
          backend.openStream!("completions", { model: "llama-2-13b", prompt: "x" }).pipe(Scope.extend(scope)),
        ),
      );
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void));
      await new Promise((resolve) => server.close(resolve));
    }
  };

  it("hands over the pieces an engine sent together without waiting (nextReady), named for the caller", async () => {
    // Two pieces in one write, then an event that is no piece, then the end.
    await withSseEngine(
      (response) => response.end(`${ssePiece("a")}${ssePiece("b")}data: {oops\n\ndata: [DONE]\n\n`),
      async (pieces) => {
        const first = await pieces.next();
        expect(first.done === false && first.value).toMatchObject({
          model: "llama-2-13b",
          choices: [{ text: "a" }],
        });
        expect(pieces.nextReady?.()).toMatchObject({ model: "llama-2-13b", choices: [{ text: "b" }] });
        // The invalid event is not handed over without waiting: the next read throws it.
        expect(pieces.nextReady?.()).toBeUndefined();
        await expect(pieces.next()).rejects.toMatchObject({
          _tag: "BackendRejected",
          reason: "engine answered with invalid JSON",
        });
      },
    );
  });

  it("hands over without waiting the pieces of several HTTP chunks that came in one read", async () => {
    await withSseEngine(
      (response) => {
        response.flushHeaders();
        // Three chunks of the chunked body in one socket write: one read at the node.
        setTimeout(() => {
          response.cork();
          for (const text of ["a", "b", "c"]) response.write(ssePiece(text));
          response.uncork();
          setTimeout(() => response.end("data: [DONE]\n\n"), 50);
        }, 20);
      },
      async (pieces) => {
        const first = await pieces.next();
        expect(first.done === false && first.value).toMatchObject({ choices: [{ text: "a" }] });
        expect(pieces.nextReady?.()).toMatchObject({ choices: [{ text: "b" }] });
        expect(pieces.nextReady?.()).toMatchObject({ choices: [{ text: "c" }] });
        // Nothing more has come: the end is waited for.
        expect(pieces.nextReady?.()).toBeUndefined();
        expect((await pieces.next()).done).toBe(true);
      },
    );
  });

  it("reads no more of a streamed call's error body than its message needs, and closes the connection", async () => {
    const engine = await endlessErrorEngine(500, "overloaded ");
    const exit = await Effect.runPromiseExit(
      Stream.runCollect(engine.backend.stream("completions", { prompt: "x" })),
    );
    const error = failure(exit) as { _tag: string; reason: string };
    expect(error._tag).toBe("BackendUnavailable");
    expect(error.reason).toMatch(/^HTTP 500: overloaded overloaded/);
    expect(error.reason.length).toBeLessThanOrEqual(520);
    // The node stopped reading and closed the connection (an endless body never ends otherwise).
    await engine.closed;
    expect(engine.sent()).toBeGreaterThan(MAX_ERROR_BODY_CHARS);
    await engine.close();
  });

  it("reads no more of a unary call's error body than its message needs, and closes the connection", async () => {
    const engine = await endlessErrorEngine(503, "queue full ");
    const exit = await Effect.runPromiseExit(engine.backend.completions({ prompt: "x" }));
    const error = failure(exit) as { _tag: string; reason: string };
    expect(error._tag).toBe("BackendUnavailable");
    expect(error.reason).toMatch(/^HTTP 503: queue full queue full/);
    expect(error.reason.length).toBeLessThanOrEqual(520);
    await engine.closed;
    expect(engine.sent()).toBeGreaterThan(MAX_ENGINE_ERROR_BYTES);
    await engine.close();
  });

  it("times out a hung call with BackendTimeout and aborts it", async () => {
    const { fake, backend } = await setup("vllm", 200);
    fake.faults.hang = true;
    const exit = await Effect.runPromiseExit(backend.completions({ prompt: "x" }));
    expect(failure(exit)).toMatchObject({ _tag: "BackendTimeout", timeoutMs: 200 });
    await fake.waitForAbort(1);
  });

  it("times out a stream whose first byte is late", async () => {
    const { fake, backend } = await setup("vllm", 150);
    // The engine sends its first byte only once the test is done: the timeout alone can end this.
    const firstByte = latch();
    fake.faults.gate = firstByte.promise;
    const exit = await Effect.runPromiseExit(Stream.runDrain(backend.stream("completions", { prompt: "x" })));
    expect(failure(exit)._tag).toBe("BackendTimeout");
    await fake.waitForAbort(1);
    firstByte.open();
  });

  it("maps 5xx to BackendUnavailable and 4xx to BackendRejected with the engine's message", async () => {
    const { fake, backend } = await setup();
    fake.faults.fail = { status: 500, times: 1 };
    expect(failure(await Effect.runPromiseExit(backend.completions({ prompt: "x" })))._tag).toBe(
      "BackendUnavailable",
    );
    fake.faults.fail = { status: 400, message: "max_tokens is too large", times: 1 };
    const rejected = failure(await Effect.runPromiseExit(backend.chatCompletions({ messages: [] })));
    expect(rejected).toMatchObject({ _tag: "BackendRejected", status: 400 });
    expect((rejected as { reason: string }).reason).toContain("max_tokens is too large");
    fake.faults.fail = { status: 503, times: 1 };
    const streamExit = await Effect.runPromiseExit(
      Stream.runDrain(backend.stream("completions", { prompt: "x" })),
    );
    expect(failure(streamExit)._tag).toBe("BackendUnavailable");
  });

  it("maps a refused connection to BackendUnavailable", async () => {
    const { fake, backend } = await setup();
    await fake.close();
    const exit = await Effect.runPromiseExit(backend.health());
    expect(failure(exit)).toMatchObject({ _tag: "BackendUnavailable" });
    expect((failure(exit) as { reason: string }).reason).toContain("ECONNREFUSED");
  });

  it("counts tokens with each engine's tokenizer route", async () => {
    for (const flavor of ["vllm", "tgi"] as const) {
      const { backend } = await setup(flavor);
      expect(await Effect.runPromise(backend.tokenize("one two three four"))).toBe(4);
    }
    // llama.cpp is asked for the `<s>` it puts before a prompt and bills, which it leaves out by default.
    const { backend: llamacpp } = await setup("llamacpp");
    expect(await Effect.runPromise(llamacpp.tokenize("one two three four"))).toBe(5);
    const { backend: ollama } = await setup("ollama");
    expect(failure(await Effect.runPromiseExit(ollama.tokenize("x")))).toMatchObject({ status: 501 });
  });

  it("checks health on /v1/models, or /health for TGI", async () => {
    const { fake, backend } = await setup("tgi");
    await Effect.runPromise(backend.health());
    expect(fake.calls["GET /health"]).toBe(1);
    fake.faults.unhealthy = true;
    expect(failure(await Effect.runPromiseExit(backend.health()))._tag).toBe("BackendUnavailable");
    const { fake: vllm, backend: vllmBackend } = await setup("vllm");
    await Effect.runPromise(vllmBackend.health());
    expect(vllm.calls["GET /v1/models"]).toBe(1);
  });

  it("declares prompt logprobs only for vLLM", async () => {
    expect((await setup("vllm")).backend.capabilities.promptLogprobs).toBe(true);
    expect((await setup("llamacpp")).backend.capabilities.promptLogprobs).toBe(false);
    expect((await setup("ollama")).backend.capabilities.promptLogprobs).toBe(false);
    expect((await setup("tgi")).backend.capabilities.completions).toBe(false);
  });

  it("normalises an engine's finish_reason (TGI's eos_token) in answers and stream pieces", async () => {
    const { backend } = await setup("tgi");
    const response = await Effect.runPromise(
      backend.chatCompletions({ model: "m", messages: [{ role: "user", content: "hi" }], max_tokens: 3 }),
    );
    expect((response.choices as { finish_reason: string }[])[0]?.finish_reason).toBe("stop");
    const pieces = Chunk.toArray(
      await Effect.runPromise(
        Stream.runCollect(
          backend.stream("chat.completions", { messages: [{ role: "user", content: "hi" }], max_tokens: 3 }),
        ),
      ),
    );
    const reasons = pieces.flatMap((p) =>
      (p.choices as { finish_reason: unknown }[]).map((c) => c.finish_reason),
    );
    expect(reasons.filter((r) => r !== null)).toEqual(["stop"]);
  });

  it("never sends stream_options on a unary call (vLLM refuses it)", async () => {
    const { fake, backend } = await setup("vllm");
    const response = await Effect.runPromise(
      backend.completions({ prompt: "a", max_tokens: 2, stream_options: { include_usage: true } }),
    );
    expect(Array.isArray(response.choices)).toBe(true);
    expect(fake.requests.at(-1)?.body).not.toHaveProperty("stream_options");
    expect(fake.requests.at(-1)?.body).toMatchObject({ stream: false });
  });

  it("passes the engine's 400 (context too long, token outside the vocabulary) as BackendRejected with its reason", async () => {
    const { backend } = await setup("vllm");
    const long = failure(await Effect.runPromiseExit(backend.completions({ prompt: "a", max_tokens: 5000 })));
    expect(long).toMatchObject({ _tag: "BackendRejected", status: 400 });
    expect((long as { reason: string }).reason).toContain("maximum context length is 4096 tokens");
    const oov = failure(
      await Effect.runPromiseExit(backend.completions({ prompt: [1, 99_999], max_tokens: 2 })),
    );
    expect(oov).toMatchObject({ _tag: "BackendRejected", status: 400 });
    expect((oov as { reason: string }).reason).toContain("out of vocabulary");
  });

  it("refuses token-id prompts for Ollama before calling it, and sends it text prompts", async () => {
    const { fake, backend } = await setup("ollama");
    const before = fake.calls["POST /v1/completions"] ?? 0;
    const refused = failure(
      await Effect.runPromiseExit(backend.completions({ prompt: [1, 2, 3], max_tokens: 2 })),
    );
    expect(refused).toMatchObject({ _tag: "BackendRejected", status: 400 });
    expect((refused as { reason: string }).reason).toContain("text prompts only");
    const streamed = failure(
      await Effect.runPromiseExit(
        Stream.runDrain(backend.stream("completions", { prompt: [[1, 2]], max_tokens: 2 })),
      ),
    );
    expect(streamed).toMatchObject({ _tag: "BackendRejected", status: 400 });
    expect(fake.calls["POST /v1/completions"] ?? 0).toBe(before);
    const ok = await Effect.runPromise(backend.completions({ prompt: ["a", "b"], max_tokens: 2 }));
    expect(Array.isArray(ok.choices)).toBe(true);
  });

  it("sends the engine's API key and extra headers, and keeps credentials out of the backend id", async () => {
    const fake = await startFakeVllm({ flavor: "vllm", model: "engine-model" });
    fakes.push(fake);
    fake.faults.apiKey = "sk-engine-secret";
    const withCredentials = fake.url.replace("http://", "http://op:pw@");
    const keyless = makeOpenAICompatibleBackend({
      ...backendConfig({ kind: "vllm", url: fake.url }),
      kind: "vllm",
      url: fake.url,
    });
    const rejected = failure(
      await Effect.runPromiseExit(keyless.completions({ prompt: "a", max_tokens: 1 })),
    );
    expect(rejected).toMatchObject({ _tag: "BackendRejected", status: 401 });
    const keyed = makeOpenAICompatibleBackend({
      ...backendConfig({
        kind: "vllm",
        url: fake.url,
        apiKey: "sk-engine-secret",
        headers: { "x-tenant": "t1" },
      }),
      kind: "vllm",
      url: fake.url,
    });
    await Effect.runPromise(keyed.completions({ prompt: "a", max_tokens: 1 }));
    await Effect.runPromise(Stream.runDrain(keyed.stream("completions", { prompt: "a", max_tokens: 1 })));
    for (const request of fake.requests.slice(-2)) {
      expect(request.headers.authorization).toBe("Bearer sk-engine-secret");
      expect(request.headers["x-tenant"]).toBe("t1");
    }
    const named = makeOpenAICompatibleBackend({
      ...backendConfig({ kind: "vllm", url: withCredentials, apiKey: "sk-engine-secret" }),
      kind: "vllm",
      url: withCredentials,
    });
    expect(named.id).not.toContain("pw");
    expect(named.id).not.toContain("sk-engine-secret");
  });
});
