import type { ServerResponse } from "node:http";
import {
  cutConnection,
  type FakeServerBase,
  type RecordedRequest,
  sendJson,
  sleep,
  startFakeServer,
} from "./fake-server.js";
import {
  chatPrompt,
  completionLogprobs,
  fakeGenerate,
  fakeLogprob,
  fakeTokenize,
  fakeTopLogprobs,
  hashText,
} from "./fake-text-model.js";

/**
 * Which engine the fake imitates. `vllm` scores prompt tokens with `echo`; `llamacpp` and `ollama`
 * ignore `echo` (ollama also returns no logprobs); `tgi` has only its chat route and `/health`.
 * `/tokenize` answers in each engine's own shape.
 */
export type FakeTextFlavor = "vllm" | "llamacpp" | "ollama" | "tgi";

/**
 * What the fake engine does with the parameters engines differ on. By default: vLLM `n`, Ollama
 * tools, and no JSON output (its short answers are counted by the gateway's own tokenizer; a test
 * that checks JSON output turns it on: {@link ENGINE_JSON_FEATURES}); no embeddings route. A test overrides them to
 * imitate an engine started with other flags (vLLM with tool calling, `--task embed`) or one that
 * lacks what it is declared to do. Unary answers only: a stream is always one plain sample.
 */
export interface FakeTextFeatures {
  /** `n` above 1 gives that many choices (else one). */
  readonly n: boolean;
  /**
   * With `tools` (and `tool_choice` not "none"), chat answers a call to the first tool, or to the
   * forced one when `forcedToolChoice`; after a tool-result turn it answers in text.
   */
  readonly tools: boolean;
  /** A forced `tool_choice` is obeyed (Ollama ignores it and calls as it likes). */
  readonly forcedToolChoice: boolean;
  /**
   * Offered several tools and no forced choice, chat calls each of them in one answer (as a model
   * asked to use them all does; on by default for Ollama only); else it calls only the first.
   */
  readonly parallelToolCalls: boolean;
  /** `parallel_tool_calls: false` is obeyed: one call at most (Ollama and vLLM before 0.11 ignore it). */
  readonly singleToolCall: boolean;
  /** `response_format: json_object` makes the chat answer a JSON object (else it is ignored). */
  readonly jsonMode: boolean;
  /** `response_format: json_schema` makes the chat answer an object with the schema's properties. */
  readonly jsonSchema: boolean;
  /** `POST /v1/embeddings` answers float vectors (else 404). */
  readonly embeddings: boolean;
}

const FLAVOR_FEATURES: Record<FakeTextFlavor, FakeTextFeatures> = {
  vllm: {
    n: true,
    tools: false,
    forcedToolChoice: true,
    parallelToolCalls: false,
    singleToolCall: false,
    jsonMode: false,
    jsonSchema: false,
    embeddings: false,
  },
  llamacpp: {
    n: false,
    tools: false,
    forcedToolChoice: true,
    parallelToolCalls: false,
    singleToolCall: true,
    jsonMode: false,
    jsonSchema: false,
    embeddings: false,
  },
  ollama: {
    n: false,
    tools: true,
    forcedToolChoice: false,
    parallelToolCalls: true,
    singleToolCall: false,
    jsonMode: false,
    jsonSchema: false,
    embeddings: false,
  },
  tgi: {
    n: false,
    tools: false,
    forcedToolChoice: false,
    parallelToolCalls: false,
    singleToolCall: false,
    jsonMode: false,
    jsonSchema: false,
    embeddings: false,
  },
};

/** Faults to inject; change them at any time through `fake.faults`. */
export interface FakeTextFaults {
  /** Answer generation and tokenize calls with this status (vLLM's error body); `times` then recover. */
  fail: { status: number; message?: string; times?: number; generationOnly?: boolean } | null;
  /** Health routes answer 503 while set. */
  unhealthy: boolean;
  /** Wait before the status line of generation calls. */
  firstByteDelayMs: number;
  /** Never answer generation calls (until the client gives up). */
  hang: boolean;
  /** Destroy the socket after this many stream pieces. */
  dropAfterPieces: number | null;
  /** Pause between stream pieces, to give a test time to interrupt. */
  pieceDelayMs: number;
  /** While set, generation calls wait for it before their status line (a test opens a {@link latch}). */
  gate: Promise<void> | null;
  /** While set, a stream sends `after` pieces, then waits for `open` (the stream is held open). */
  pieceGate: { after: number; open: Promise<void> } | null;
  /** Generation calls without `authorization: Bearer <apiKey>` get 401, as an engine behind a key. */
  apiKey: string | null;
  /** Completions answer only the first prompt of a batch (an engine that drops or joins prompts). */
  firstPromptOnly: boolean;
  /** A stream's pieces all in one write, as a busy engine's batch step (or a backlog) arrives. */
  burst: boolean;
  /**
   * Chat logprobs list one alternative more than `top_logprobs` asked for (the sampled token added,
   * as the completions API does): what some engine versions answer.
   */
  extraTopLogprob: boolean;
  /**
   * Each streamed chat token (without logprobs) goes out a character at a time, as an engine that
   * samples a word letter by letter streams it.
   */
  splitTokens: boolean;
  /**
   * A chat that offered no tools is answered with a tool call anyway (`finish_reason:
   * "tool_calls"`), as a misconfigured chat template or a broken parser does: `first` puts the call
   * in a stream's first piece, `late` after its first tokens (a unary answer is the call alone);
   * `times` then answers honestly again.
   */
  uninvitedToolCall: { at: "first" | "late"; times?: number } | null;
}

export interface FakeTextEngine extends FakeServerBase {
  readonly flavor: FakeTextFlavor;
  readonly model: string;
  readonly features: FakeTextFeatures;
  readonly faults: FakeTextFaults;
}

interface Generation {
  readonly id: string;
  readonly prompt: string;
  readonly tokens: string[];
  readonly promptTokens: number;
}

/** The JSON output each engine really has (vLLM and llama.cpp both kinds, Ollama JSON mode only). */
export const ENGINE_JSON_FEATURES: Record<
  FakeTextFlavor,
  Pick<FakeTextFeatures, "jsonMode" | "jsonSchema">
> = {
  vllm: { jsonMode: true, jsonSchema: true },
  llamacpp: { jsonMode: true, jsonSchema: true },
  ollama: { jsonMode: true, jsonSchema: false },
  tgi: { jsonMode: false, jsonSchema: false },
};

/** Starts a fake OpenAI-compatible engine on 127.0.0.1 and a free port. */
export async function startFakeVllm(
  options: { flavor?: FakeTextFlavor; model?: string; features?: Partial<FakeTextFeatures> } = {},
): Promise<FakeTextEngine> {
  const flavor = options.flavor ?? "vllm";
  const features: FakeTextFeatures = { ...FLAVOR_FEATURES[flavor], ...options.features };
  const model = options.model ?? "fake/llama-2-13b";
  const faults: FakeTextFaults = {
    fail: null,
    unhealthy: false,
    firstByteDelayMs: 0,
    hang: false,
    dropAfterPieces: null,
    pieceDelayMs: 0,
    gate: null,
    pieceGate: null,
    apiKey: null,
    firstPromptOnly: false,
    burst: false,
    extraTopLogprob: false,
    splitTokens: false,
    uninvitedToolCall: null,
  };
  // As the real engines: TGI's older versions end with `eos_token`; vLLM refuses `stream_options`
  // without `stream: true`, prompts past its context and token ids past its vocabulary (400);
  // Ollama's OpenAI route takes text prompts only.
  const endReason = flavor === "tgi" ? "eos_token" : "length";
  const CONTEXT = 4096;
  const VOCABULARY = 32_000;
  const engineRefusal = (body: Record<string, unknown>): string | undefined => {
    if (body.stream_options !== undefined && body.stream !== true)
      return "Stream options can only be defined when `stream=True`.";
    const prompts = Array.isArray(body.prompt) ? body.prompt : [body.prompt];
    const tokenPrompts = prompts.some((p) => Array.isArray(p) || typeof p === "number");
    if (tokenPrompts && flavor === "ollama") return "invalid prompt: prompt must be a string";
    // Ollama's completion prompt is one Go string: a list does not even decode.
    if (flavor === "ollama" && Array.isArray(body.prompt))
      return "json: cannot unmarshal array into Go struct field CompletionRequest.prompt of type string";
    const ids = prompts.flatMap((p) => (Array.isArray(p) ? p : typeof p === "number" ? [p] : []));
    const outside = ids.find((id) => typeof id !== "number" || id < 0 || id >= VOCABULARY);
    if (outside !== undefined) return `Token id ${String(outside)} is out of vocabulary`;
    const text = prompts.filter((p): p is string => typeof p === "string").join(" ");
    const asked =
      fakeTokenize(text).length + ids.length + (typeof body.max_tokens === "number" ? body.max_tokens : 0);
    if (asked > CONTEXT)
      return `This model's maximum context length is ${CONTEXT} tokens. However, you requested ${asked} tokens. Please reduce the length of the messages or completion.`;
    return undefined;
  };
  let sequence = 0;
  /** This engine's calls without a seed so far: each draws the next stream (see `fakeGenerate`). */
  let unseeded = 0;
  const created = () => Math.floor(Date.now() / 1000);

  const injectedFailure = (response: ServerResponse): boolean => {
    const fail = faults.fail;
    if (fail === null) return false;
    if (fail.times !== undefined) faults.fail = fail.times <= 1 ? null : { ...fail, times: fail.times - 1 };
    const message = fail.message ?? "injected failure";
    sendJson(response, fail.status, { object: "error", message, type: "InjectedError", code: fail.status });
    return true;
  };

  const generate = (prompt: string, body: Record<string, unknown>): Generation => {
    const maxTokens = typeof body.max_tokens === "number" ? body.max_tokens : 16;
    const seed = typeof body.seed === "number" ? body.seed : undefined;
    sequence += 1;
    return {
      id: `cmpl-fake-${sequence}`,
      prompt,
      tokens: fakeGenerate(prompt, maxTokens, seed, seed === undefined ? unseeded++ : 0),
      promptTokens: fakeTokenize(prompt).length,
    };
  };

  const usageOf = (samples: readonly Generation[]) => {
    const completion = samples.reduce((sum, sample) => sum + sample.tokens.length, 0);
    const prompt = samples[0]?.promptTokens ?? 0;
    return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  };
  // Samples 2..n when the engine does `n` (each seeded `seed + i`), none when it ignores `n`.
  const extraSamples = (prompt: string, body: Record<string, unknown>): Generation[] => {
    const n = typeof body.n === "number" ? body.n : 1;
    if (!features.n || n <= 1) return [];
    const seed = typeof body.seed === "number" ? body.seed : 0;
    return Array.from({ length: n - 1 }, (_, i) => generate(prompt, { ...body, seed: seed + i + 1 }));
  };
  const toolCalls = (body: Record<string, unknown>) => {
    const tools = Array.isArray(body.tools) ? (body.tools as { function?: { name?: unknown } }[]) : [];
    if (!features.tools || tools.length === 0 || body.tool_choice === "none") return undefined;
    const messages = Array.isArray(body.messages) ? (body.messages as { role?: unknown }[]) : [];
    if (messages.at(-1)?.role === "tool") return undefined;
    const forced = features.forcedToolChoice
      ? (body.tool_choice as { function?: { name?: unknown } } | undefined)?.function?.name
      : undefined;
    // Asked for one tool (a forced choice, obeyed or not) or told to keep to one call: the first.
    const one =
      (features.singleToolCall && body.parallel_tool_calls === false) || typeof body.tool_choice === "object";
    const names =
      typeof forced === "string"
        ? [forced]
        : (features.parallelToolCalls && !one ? tools : tools.slice(0, 1)).map((tool) =>
            String(tool.function?.name ?? "tool"),
          );
    return names.map((name) => {
      sequence += 1;
      return { id: `call-fake-${sequence}`, type: "function", function: { name, arguments: "{}" } };
    });
  };
  // The answer as JSON when the engine honours `response_format` (a few generated words in it),
  // cut at `max_tokens` like any answer and counted as it is.
  const shaped = (g: Generation, body: Record<string, unknown>): Generation => {
    const format = body.response_format as
      | { type?: unknown; json_schema?: { schema?: { properties?: Record<string, { type?: unknown }> } } }
      | undefined;
    const words = g.tokens.slice(0, 3).join("").trim();
    let json: string | undefined;
    if (format?.type === "json_object" && features.jsonMode) json = JSON.stringify({ text: words });
    if (format?.type === "json_schema" && features.jsonSchema) {
      const properties = Object.entries(format.json_schema?.schema?.properties ?? {});
      const value = (type: unknown) =>
        type === "number" || type === "integer" ? 1 : type === "boolean" ? true : words;
      json = JSON.stringify(Object.fromEntries(properties.map(([key, schema]) => [key, value(schema.type)])));
    }
    if (json === undefined) return g;
    const maxTokens = typeof body.max_tokens === "number" ? body.max_tokens : 16;
    return { ...g, tokens: fakeTokenize(json).slice(0, maxTokens) };
  };

  const embeddings = (body: Record<string, unknown>, response: ServerResponse) => {
    const inputs = (Array.isArray(body.input) ? body.input : [body.input]).map(String);
    const data = inputs.map((text, index) => {
      const h = hashText(text);
      const embedding = Array.from({ length: 8 }, (_, i) => (((h >>> i) & 0xff) - 127.5) / 128);
      return { object: "embedding", index, embedding };
    });
    const tokens = inputs.reduce((sum, text) => sum + fakeTokenize(text).length, 0);
    sendJson(response, 200, {
      object: "list",
      data,
      model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  };

  const completionLogprobsFor = (g: Generation, body: Record<string, unknown>) => {
    if (typeof body.logprobs !== "number" || flavor === "ollama") return null;
    const echo = body.echo === true && flavor === "vllm";
    const prompt = echo ? fakeTokenize(g.prompt) : [];
    const all = completionLogprobs("", [...prompt, ...g.tokens], body.logprobs, 0);
    if (echo) return all;
    const generated = completionLogprobs(g.prompt, g.tokens, body.logprobs, 0);
    return flavor === "llamacpp" ? llamaCppLogprobs(generated) : generated;
  };

  const chatLogprobsFor = (g: Generation, body: Record<string, unknown>) => {
    if (body.logprobs !== true || flavor === "ollama") return null;
    const n = typeof body.top_logprobs === "number" ? body.top_logprobs : 0;
    let context = g.prompt;
    return {
      content: g.tokens.map((token) => {
        const entry = {
          token,
          logprob: fakeLogprob(context, token),
          // With the fault, the sampled token is listed first and one alternative more (as an
          // engine that adds it does), even when it is not among the most probable.
          top_logprobs: faults.extraTopLogprob
            ? [
                { token: "zzz-sampled", logprob: -99 },
                ...Object.entries(fakeTopLogprobs(context, token, n))
                  .slice(0, n)
                  .map(([t, logprob]) => ({ token: t, logprob })),
              ]
            : Object.entries(fakeTopLogprobs(context, token, n))
                .slice(0, n)
                .map(([t, logprob]) => ({ token: t, logprob })),
        };
        context += token;
        return entry;
      }),
    };
  };

  const stream = async (response: ServerResponse, pieces: unknown[]) => {
    response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    let sent = 0;
    if (faults.pieceGate?.after === 0) {
      // The head alone, then nothing until the gate opens.
      response.flushHeaders();
      await faults.pieceGate.open;
    }
    if (faults.burst) {
      const events = pieces.map((piece) => `data: ${JSON.stringify(piece)}\n\n`).join("");
      response.end(`${events}data: [DONE]\n\n`);
      return;
    }
    for (const piece of pieces) {
      if (response.destroyed) return;
      if (faults.dropAfterPieces !== null && sent >= faults.dropAfterPieces) return cutConnection(response);
      // Wait for the flush so that a later simulated crash cannot swallow pieces already "sent".
      await new Promise((resolve) => response.write(`data: ${JSON.stringify(piece)}\n\n`, resolve));
      sent += 1;
      if (faults.pieceDelayMs > 0) await sleep(faults.pieceDelayMs);
      if (faults.pieceGate !== null && sent >= faults.pieceGate.after) await faults.pieceGate.open;
    }
    response.end("data: [DONE]\n\n");
  };

  // A list of prompts (strings or token-id lists) is a batch: each prompt is answered with its n
  // samples, choice `prompt × n + sample`, as vLLM does; a list of token ids is one prompt.
  const promptsOf = (body: Record<string, unknown>): string[] => {
    const p = body.prompt;
    if (!Array.isArray(p) || p.length === 0) return [String(p ?? "")];
    if (p.every((item) => typeof item === "number")) return [String(p[0])];
    return p.map(String);
  };

  const completions = async (body: Record<string, unknown>, response: ServerResponse) => {
    const prompts = promptsOf(body);
    const batch = (faults.firstPromptOnly ? prompts.slice(0, 1) : prompts).map((prompt) => {
      const g = generate(prompt, body);
      return [g, ...extraSamples(prompt, body)];
    });
    const first = batch[0]![0]!;
    const echo = body.echo === true && flavor === "vllm";
    const base = { id: first.id, object: "text_completion", created: created(), model };
    const batchUsage = () => {
      const prompt = batch.reduce((sum, samples) => sum + samples[0]!.promptTokens, 0);
      const completion = batch.reduce((sum, samples) => sum + usageOf(samples).completion_tokens, 0);
      return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
    };
    if (body.stream !== true) {
      const choices = batch.flatMap((samples, p) =>
        samples.map((sample, j) => ({
          index: p * samples.length + j,
          text: (echo ? sample.prompt : "") + sample.tokens.join(""),
          logprobs: completionLogprobsFor(sample, body),
          finish_reason: endReason,
        })),
      );
      return sendJson(response, 200, { ...base, choices, usage: batchUsage() });
    }
    // llama.cpp's pieces carry each token's logprobs (chat-shaped); the others' none here.
    const pieces: unknown[] = batch.flatMap((samples, p) =>
      samples.flatMap((g, j) => {
        const tokenLogprobs = flavor === "llamacpp" ? completionLogprobsFor(g, body) : null;
        return g.tokens.map((token, i) => ({
          ...base,
          choices: [
            {
              index: p * samples.length + j,
              text: token,
              logprobs:
                tokenLogprobs === null
                  ? null
                  : { content: [(tokenLogprobs as { content: unknown[] }).content[i]] },
              finish_reason: i === g.tokens.length - 1 ? endReason : null,
            },
          ],
        }));
      }),
    );
    if (wantsUsage(body)) pieces.push({ ...base, choices: [], usage: batchUsage() });
    await stream(response, pieces);
  };

  /** Where this chat gets a tool call it never offered (`faults.uninvitedToolCall`), counting it down. */
  const uninvitedAt = (body: Record<string, unknown>): "first" | "late" | undefined => {
    const fault = faults.uninvitedToolCall;
    if (fault === null || (Array.isArray(body.tools) && body.tools.length > 0)) return undefined;
    if (fault.times !== undefined)
      faults.uninvitedToolCall = fault.times <= 1 ? null : { ...fault, times: fault.times - 1 };
    return fault.at;
  };
  const inventedCall = {
    id: "call_invented",
    type: "function",
    function: { name: "lookup", arguments: "{}" },
  };

  const chat = async (body: Record<string, unknown>, response: ServerResponse) => {
    const g = generate(chatPrompt(body.messages), body);
    const base = { id: `chatcmpl-${g.id}`, created: created(), model };
    const uninvited = uninvitedAt(body);
    if (uninvited !== undefined) {
      const call = (index: number) => ({
        role: "assistant",
        content: null,
        tool_calls: [{ index, ...inventedCall }],
      });
      if (body.stream !== true) {
        const message = { role: "assistant", content: null, tool_calls: [inventedCall] };
        return sendJson(response, 200, {
          ...base,
          object: "chat.completion",
          choices: [{ index: 0, message, logprobs: null, finish_reason: "tool_calls" }],
          usage: usageOf([g]),
        });
      }
      const chunk = { ...base, object: "chat.completion.chunk" };
      const text = uninvited === "late" ? g.tokens.slice(0, 2) : [];
      const pieces: unknown[] = [
        ...(uninvited === "late"
          ? [
              {
                ...chunk,
                choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }],
              },
            ]
          : []),
        ...text.map((token) => ({
          ...chunk,
          choices: [{ index: 0, delta: { content: token }, finish_reason: null }],
        })),
        { ...chunk, choices: [{ index: 0, delta: call(0), finish_reason: null }] },
        { ...chunk, choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] },
      ];
      if (wantsUsage(body)) pieces.push({ ...chunk, choices: [], usage: usageOf([g]) });
      return stream(response, pieces);
    }
    if (body.stream !== true) {
      const samples = [g, ...extraSamples(g.prompt, body)].map((sample) => shaped(sample, body));
      const choices = samples.map((sample, index) => {
        const calls = toolCalls(body);
        if (calls !== undefined) {
          const message = { role: "assistant", content: null, tool_calls: calls };
          return { index, message, logprobs: null, finish_reason: "tool_calls" };
        }
        const message = { role: "assistant", content: sample.tokens.join("").trimStart() };
        return { index, message, logprobs: chatLogprobsFor(sample, body), finish_reason: endReason };
      });
      return sendJson(response, 200, {
        ...base,
        object: "chat.completion",
        choices,
        usage: usageOf(samples),
      });
    }
    const chunk = { ...base, object: "chat.completion.chunk" };
    // Each of the n samples streamed in turn under its own index, as vLLM numbers them.
    const samples = [g, ...extraSamples(g.prompt, body)];
    const pieces: unknown[] = samples.flatMap((sample, index) => {
      // Each piece carries its own token's logprobs, as vLLM streams them.
      const logprobs = chatLogprobsFor(sample, body);
      return [
        { ...chunk, choices: [{ index, delta: { role: "assistant", content: "" }, finish_reason: null }] },
        ...sample.tokens.flatMap((token, i) => {
          const parts = faults.splitTokens && logprobs === null && token.length > 1 ? [...token] : [token];
          return parts.map((part, p) => ({
            ...chunk,
            choices: [
              {
                index,
                delta: { content: part },
                ...(logprobs === null ? {} : { logprobs: { content: [logprobs.content[i]] } }),
                finish_reason: i === sample.tokens.length - 1 && p === parts.length - 1 ? endReason : null,
              },
            ],
          }));
        }),
      ];
    });
    if (wantsUsage(body)) pieces.push({ ...chunk, choices: [], usage: usageOf(samples) });
    await stream(response, pieces);
  };

  const tokenize = (body: Record<string, unknown>, response: ServerResponse) => {
    const text = String(body.prompt ?? body.content ?? body.inputs ?? "");
    const tokens = fakeTokenize(text);
    const ids = tokens.map((_, i) => 100 + i);
    if (flavor === "vllm")
      return sendJson(response, 200, { count: tokens.length, max_model_len: 4096, tokens: ids });
    // llama.cpp puts the model's `<s>` (id 1) first only when asked (`add_special`).
    if (flavor === "llamacpp")
      return sendJson(response, 200, { tokens: body.add_special === true ? [1, ...ids] : ids });
    if (flavor === "tgi")
      return sendJson(
        response,
        200,
        tokens.map((t, i) => ({ id: 100 + i, text: t, start: 0, stop: 0 })),
      );
    sendJson(response, 404, { error: "404 page not found" });
  };

  const route = async (request: RecordedRequest, response: ServerResponse) => {
    const body = (typeof request.body === "object" && request.body !== null ? request.body : {}) as Record<
      string,
      unknown
    >;
    const key = `${request.method} ${request.path}`;
    if (key === "GET /info" && flavor === "tgi")
      return sendJson(response, 200, { model_id: model, max_input_tokens: 4095 });
    if (key === "GET /health" || key === "GET /v1/models") {
      if (faults.unhealthy) return sendJson(response, 503, { error: "unhealthy" });
      if (key === "GET /health") return void response.writeHead(200).end();
      return sendJson(response, 200, {
        object: "list",
        data: [{ id: model, object: "model", owned_by: "fake" }],
      });
    }
    const routes: Record<string, (body: Record<string, unknown>, response: ServerResponse) => unknown> = {
      "POST /v1/completions": completions,
      "POST /v1/chat/completions": chat,
      "POST /tokenize": tokenize,
    };
    if (features.embeddings) routes["POST /v1/embeddings"] = embeddings;
    const handler = routes[key];
    if (handler === undefined || (flavor === "tgi" && key === "POST /v1/completions")) {
      return sendJson(response, 404, { error: `no route ${key}` });
    }
    if (!(faults.fail?.generationOnly === true && key === "POST /tokenize") && injectedFailure(response))
      return;
    if (faults.apiKey !== null && request.headers.authorization !== `Bearer ${faults.apiKey}`)
      return sendJson(response, 401, { error: { message: "invalid api key", type: "auth_error" } });
    const refusal = key === "POST /tokenize" ? undefined : engineRefusal(body);
    if (refusal !== undefined)
      return sendJson(response, 400, {
        object: "error",
        message: refusal,
        type: "BadRequestError",
        code: 400,
      });
    if (faults.hang) return new Promise<void>((resolve) => response.on("close", resolve));
    if (faults.firstByteDelayMs > 0) await sleep(faults.firstByteDelayMs);
    if (faults.gate !== null) await faults.gate;
    if (response.destroyed) return;
    await handler(body, response);
  };

  const base = await startFakeServer(route);
  return { ...base, flavor, model, features, faults };
}

function wantsUsage(body: Record<string, unknown>): boolean {
  const options = body.stream_options;
  return (
    typeof options === "object" &&
    options !== null &&
    (options as { include_usage?: unknown }).include_usage === true
  );
}

/**
 * llama.cpp server's logprobs on `/v1/completions`: the chat shape (`content`: token, logprob,
 * bytes and `top_logprobs` entries), not the completions API's arrays.
 */
function llamaCppLogprobs(legacy: ReturnType<typeof completionLogprobs>) {
  const bytes = (token: string) => [...Buffer.from(token, "utf8")];
  return {
    content: legacy.tokens.map((token, i) => ({
      id: i,
      token,
      logprob: legacy.token_logprobs[i] ?? 0,
      bytes: bytes(token),
      top_logprobs: Object.entries(legacy.top_logprobs[i] ?? { [token]: legacy.token_logprobs[i] ?? 0 }).map(
        ([alt, logprob]) => ({ id: 0, token: alt, logprob, bytes: bytes(alt) }),
      ),
    })),
  };
}
