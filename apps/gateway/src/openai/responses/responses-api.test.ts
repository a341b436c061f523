import { createOpenAI } from "@ai-sdk/openai";
import { type AIMessageChunk, HumanMessage } from "@langchain/core/messages";
import { ChatOpenAI } from "@langchain/openai";
import { APICallError, generateText, streamText } from "ai";
import OpenAI, { type APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../../../test/support/gateway-test-harness.js";

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
}, 30_000);
afterAll(() => t?.close());

const asApiError = (e: unknown) => e as APIError;
const lastRequest = () => t.dispatcher.requests.at(-1)!;
const usageOf = (keyId: string) => t.admin.admin.usage.byKey.query({ keyId });
const aiSdk = (secret: string) => createOpenAI({ apiKey: secret, baseURL: `${t.gateway.url}/v1` });

/** A tool loop's pieces: the one tool, a call of it, and that call's output. */
const tools = [{ type: "function" as const, name: "now", parameters: { type: "object" }, strict: false }];
const call = (callId: string) => ({
  type: "function_call" as const,
  call_id: callId,
  name: "now",
  arguments: "{}",
});
const output = (callId: string) => ({
  type: "function_call_output" as const,
  call_id: callId,
  output: "12:00",
});

describe("/v1/responses with the official openai client", () => {
  it("answers text input with one output_text message, usage, and is billed as one chat relay", async () => {
    const { openai, key } = await t.newKey();
    const { data, response } = await openai.responses
      .create({
        model: "llama-2-13b",
        instructions: "Be brief.",
        input: "Say hi",
        max_output_tokens: 3,
        temperature: 0.2,
        top_p: 0.9,
        metadata: { ticket: "42" },
      })
      .withResponse();
    expect(data).toMatchObject({
      object: "response",
      status: "completed",
      model: "llama-2-13b:standard",
      instructions: "Be brief.",
      max_output_tokens: 3,
      temperature: 0.2,
      top_p: 0.9,
      metadata: { ticket: "42" },
      store: false,
    });
    expect(data.id).toMatch(/^resp_[0-9a-f]{32}$/);
    expect(data.output_text).toBe("the quick relay");
    expect(data.output[0]).toMatchObject({ type: "message", role: "assistant", status: "completed" });
    expect(data.usage).toMatchObject({ output_tokens: 3, total_tokens: data.usage!.input_tokens + 3 });
    expect(data.usage!.input_tokens).toBeGreaterThan(0);
    expect(response.headers.get("x-pocket-node")).toMatch(/^pokt1/);
    // Relayed as chat: the instructions first, the node's limits and sampling as asked.
    expect(lastRequest()).toMatchObject({
      operation: "chat.completions",
      body: {
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Say hi" },
        ],
        max_tokens: 3,
        temperature: 0.2,
        top_p: 0.9,
      },
    });
    expect(lastRequest().body).not.toHaveProperty("metadata");
    expect(await usageOf(key.id)).toMatchObject({ requests: 1, spentMicroUsd: 750, reservedMicroUsd: 0 });
  });

  it("multi-turn: every earlier turn travels in input, developer messages become system ones", async () => {
    const { openai } = await t.newKey();
    const answer = await openai.responses.create({
      model: "mistral-7b",
      input: [
        { role: "developer", content: "Answer in one word." },
        { role: "user", content: [{ type: "input_text", text: "Name a colour." }] },
        {
          type: "message",
          role: "assistant",
          id: "msg_earlier",
          status: "completed",
          content: [{ type: "output_text", text: "Blue.", annotations: [] }],
        },
        { role: "user", content: "Another one?" },
      ],
    });
    expect(answer.output_text.length).toBeGreaterThan(0);
    expect(lastRequest().body.messages).toEqual([
      { role: "system", content: "Answer in one word." },
      { role: "user", content: "Name a colour." },
      { role: "assistant", content: "Blue." },
      { role: "user", content: "Another one?" },
    ]);
  });

  it("streams the documented events in order, and responses.stream() assembles the final response", async () => {
    const { openai, key } = await t.newKey();
    const stream = await openai.responses.create({ model: "llama-2-13b", input: "Count", stream: true });
    const events = [];
    for await (const event of stream) events.push(event);
    const types = events.map((e) => e.type);
    expect(types.slice(0, 4)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
    ]);
    expect(types.slice(4, -4).every((type) => type === "response.output_text.delta")).toBe(true);
    expect(types.slice(-4)).toEqual([
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const deltas = events.flatMap((e) => (e.type === "response.output_text.delta" ? [e.delta] : []));
    const done = events.find((e) => e.type === "response.output_text.done");
    expect(done?.type === "response.output_text.done" && done.text).toBe(deltas.join(""));
    const completed = events.at(-1);
    expect(completed?.type === "response.completed" && completed.response.usage?.output_tokens).toBe(8);
    expect(await usageOf(key.id)).toMatchObject({ requests: 1, spentMicroUsd: 750 });

    const helper = openai.responses.stream({ model: "llama-2-13b", input: "Count", max_output_tokens: 2 });
    const final = await helper.finalResponse();
    const message = final.output[0];
    expect(message?.type === "message" && message.content[0]).toMatchObject({
      type: "output_text",
      text: "the quick",
    });
    expect(final.usage?.output_tokens).toBe(2);
  });

  it("a stream cut mid-way ends with an error event the client raises, and bills what was delivered", async () => {
    const { openai, key } = await t.newKey();
    t.dispatcher.interruptStreamsAfter = 2;
    const seen: string[] = [];
    const failure = await (async () => {
      const stream = await openai.responses.create({
        model: "llama-2-13b",
        input: "Once",
        max_output_tokens: 8,
        stream: true,
      });
      for await (const event of stream)
        if (event.type === "response.output_text.delta") seen.push(event.delta);
    })().then(() => undefined, asApiError);
    t.dispatcher.interruptStreamsAfter = undefined;
    expect(seen).toHaveLength(2);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect(failure?.code).toBe("STREAM_INTERRUPTED");
    expect(await usageOf(key.id)).toMatchObject({ requests: 1, spentMicroUsd: 188, reservedMicroUsd: 0 });
  });

  it("a message item id carries its text: item_reference resolves it with nothing stored, for its application only", async () => {
    const { openai } = await t.newKey();
    const first = await openai.responses.create({
      model: "llama-2-13b",
      input: "Name a colour.",
      store: true,
    });
    expect((first as unknown as { store: boolean }).store).toBe(false);
    const item = first.output[0]!;
    expect(item.type === "message" && item.id).toMatch(/^msg_pk1[A-Za-z0-9_-]+$/);
    await openai.responses.create({
      model: "llama-2-13b",
      input: [
        { role: "user", content: "Name a colour." },
        { type: "item_reference", id: item.id! },
        { role: "user", content: "Another?" },
      ],
    });
    expect(lastRequest().body.messages).toEqual([
      { role: "user", content: "Name a colour." },
      { role: "assistant", content: first.output_text },
      { role: "user", content: "Another?" },
    ]);
    // Another application cannot open it.
    const otherApp = await t.admin.admin.applications.create.mutate({ name: "Other" });
    const { secret } = await t.admin.admin.keys.create.mutate({ applicationId: otherApp.id, name: "k" });
    const other = new OpenAI({ apiKey: secret, baseURL: `${t.gateway.url}/v1`, maxRetries: 0 });
    const refused = await other.responses
      .create({
        model: "llama-2-13b",
        input: [
          { role: "user", content: "x" },
          { type: "item_reference", id: item.id! },
        ],
      })
      .then(() => undefined, asApiError);
    expect(refused?.status).toBe(400);
    expect(refused?.code).toBe("INVALID_ITEM_REFERENCE");
  });

  it("a streamed answer's item id works in item_reference: responses.stream() and create({ stream: true }), for its application only", async () => {
    const { openai } = await t.newKey();
    const refer = (client: OpenAI, id: string) =>
      client.responses.create({
        model: "llama-2-13b",
        input: [
          { role: "user", content: "Name a colour." },
          { type: "item_reference", id },
          { role: "user", content: "Another?" },
        ],
      });

    // responses.stream(): the final response's message id, the same as announced.
    const helper = openai.responses.stream({ model: "llama-2-13b", input: "Name a colour." });
    let announced = "";
    helper.on("response.output_item.added", (e) => {
      announced = e.item.id ?? "";
    });
    const final = await helper.finalResponse();
    const item = final.output[0]!;
    expect(item.type === "message" && item.id).toMatch(/^msg_pk2[0-9a-f]{16}-[A-Za-z0-9_-]{64}$/);
    expect(item.id).toBe(announced);
    const finalText =
      item.type === "message" && item.content[0]?.type === "output_text" ? item.content[0].text : "";
    expect(finalText.length).toBeGreaterThan(0);
    await refer(openai, item.id!);
    expect(lastRequest().body.messages).toEqual([
      { role: "user", content: "Name a colour." },
      { role: "assistant", content: finalText },
      { role: "user", content: "Another?" },
    ]);

    // create({ stream: true }): the id from response.output_item.added.
    const stream = await openai.responses.create({ model: "mistral-7b", input: "Count", stream: true });
    let id = "";
    let text = "";
    for await (const event of stream) {
      if (event.type === "response.output_item.added") id = event.item.id ?? "";
      if (event.type === "response.output_text.done") text = event.text;
    }
    await refer(openai, id);
    expect((lastRequest().body.messages as unknown[])[1]).toEqual({ role: "assistant", content: text });

    // Another application cannot open it; a changed id is refused as such.
    const otherApp = await t.admin.admin.applications.create.mutate({ name: "Other streamed" });
    const { secret } = await t.admin.admin.keys.create.mutate({ applicationId: otherApp.id, name: "k" });
    const other = new OpenAI({ apiKey: secret, baseURL: `${t.gateway.url}/v1`, maxRetries: 0 });
    for (const [client, ref] of [
      [other, id],
      [openai, `${id.slice(0, -1)}${id.endsWith("A") ? "B" : "A"}`],
    ] as const) {
      const refused = await refer(client, ref).then(() => undefined, asApiError);
      expect(refused?.status).toBe(400);
      expect(refused?.code).toBe("INVALID_ITEM_REFERENCE");
      expect(refused?.param).toBe("input[1].id");
    }
  });

  it("a streamed item is kept only when its stream completes and store is not false", async () => {
    const { openai } = await t.newKey();
    const announcedId = async (params: Record<string, unknown>, signal?: AbortSignal) => {
      const stream = await openai.responses.create(
        {
          model: "llama-2-13b",
          input: "Once",
          stream: true,
          ...params,
        } as OpenAI.Responses.ResponseCreateParamsStreaming,
        { signal },
      );
      for await (const event of stream)
        if (event.type === "response.output_item.added") return event.item.id ?? "";
      return "";
    };
    const refer = (id: string) =>
      openai.responses
        .create({
          model: "llama-2-13b",
          input: [
            { role: "user", content: "Once" },
            { type: "item_reference", id },
            { role: "user", content: "Again" },
          ],
        })
        .then(() => undefined, asApiError);

    // Cut by the node: nothing kept.
    t.dispatcher.interruptStreamsAfter = 2;
    let cutId = "";
    const cut = await (async () => {
      const stream = await openai.responses.create({ model: "llama-2-13b", input: "Once", stream: true });
      for await (const event of stream)
        if (event.type === "response.output_item.added") cutId = event.item.id ?? "";
    })().then(() => undefined, asApiError);
    t.dispatcher.interruptStreamsAfter = undefined;
    expect(cut?.code).toBe("STREAM_INTERRUPTED");
    expect(cutId).toMatch(/^msg_pk2/);
    expect((await refer(cutId))?.code).toBe("RESPONSE_NOT_STORED");

    // Left by the client mid-way: nothing kept.
    t.dispatcher.stallAfterChunks = 1;
    const abort = new AbortController();
    const leftId = await announcedId({}, abort.signal);
    abort.abort();
    t.dispatcher.stallAfterChunks = undefined;
    expect(leftId).toMatch(/^msg_pk2/);
    const left = await refer(leftId);
    expect(left?.status).toBe(400);
    expect(left?.code).toBe("RESPONSE_NOT_STORED");
    expect(left?.message).toMatch(
      /expired: the gateway keeps a streamed item's text .* for 60 minutes at most/,
    );
    expect(left?.message).toMatch(/send the item itself/);

    // store: false: a plain id, nothing kept.
    const unkeptId = await announcedId({ store: false });
    expect(unkeptId).toMatch(/^msg_[0-9a-f]{32}$/);
    expect((await refer(unkeptId))?.code).toBe("RESPONSE_NOT_STORED");

    // The same stream completed: kept.
    const keptId = await announcedId({});
    expect(await refer(keptId)).toBeUndefined();
  });

  it("refuses stored state and features it does not offer with stable codes, before any dispatch", async () => {
    const { openai } = await t.newKey();
    const before = t.dispatcher.requests.length;
    const ask = (extra: Record<string, unknown>) =>
      openai.responses
        .create({
          model: "llama-2-13b",
          input: "x",
          ...extra,
        } as OpenAI.Responses.ResponseCreateParamsNonStreaming)
        .then(() => undefined, asApiError);
    const cases: [Record<string, unknown>, string, string][] = [
      [{ previous_response_id: "resp_123" }, "RESPONSE_NOT_STORED", "previous_response_id"],
      [{ input: [{ type: "item_reference", id: "msg_1" }] }, "RESPONSE_NOT_STORED", "input[0].id"],
      [
        { input: [{ type: "item_reference", id: "msg_pk1AAAAAAAA" }] },
        "INVALID_ITEM_REFERENCE",
        "input[0].id",
      ],
      [{ tools: [{ type: "web_search" }] }, "UNSUPPORTED_RESPONSES_FEATURE", "tools[0].type"],
      [{ reasoning: { effort: "high" } }, "UNSUPPORTED_RESPONSES_FEATURE", "reasoning"],
      [{ background: true }, "UNSUPPORTED_RESPONSES_FEATURE", "background"],
      [{ text: { verbosity: "low" } }, "UNSUPPORTED_RESPONSES_FEATURE", "text.verbosity"],
      [
        { input: [{ role: "user", content: [{ type: "input_file", file_id: "file_1" }] }] },
        "UNSUPPORTED_RESPONSES_FEATURE",
        "input[0].content[0].type",
      ],
      [
        { input: [{ type: "web_search_call", id: "ws_1", status: "completed" }] },
        "UNSUPPORTED_RESPONSES_FEATURE",
        "input[0].type",
      ],
      [{ n_predict: 5 }, "UNKNOWN_PARAMETER", "n_predict"],
      // A Chat Completions field is named as sent (not as the Responses field it maps to).
      [{ max_tokens: 5 }, "UNKNOWN_PARAMETER", "max_tokens"],
      [{ messages: [{ role: "user", content: "x" }] }, "UNKNOWN_PARAMETER", "messages"],
      [{ response_format: { type: "json_object" } }, "UNKNOWN_PARAMETER", "response_format"],
      [{ model: "gpt-17" }, "UNKNOWN_MODEL", "model"],
      // Metadata is echoed in every response event: held to OpenAI's limits, not to the body's.
      [
        { metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"])) },
        "INVALID_REQUEST",
        "metadata",
      ],
      [{ metadata: { ["k".repeat(65)]: "v" } }, "INVALID_REQUEST", "metadata"],
      [{ metadata: { note: "v".repeat(513) } }, "INVALID_REQUEST", "metadata"],
    ];
    for (const [extra, code, param] of cases) {
      const error = await ask(extra);
      expect({ extra, code: error?.code, param: error?.param }).toEqual({ extra, code, param });
      expect(error?.status).toBe(code === "UNKNOWN_MODEL" ? 404 : 400);
    }
    // ...and the client is told the Responses field to use instead.
    const habit = await ask({ max_tokens: 5 });
    expect(habit?.message).toContain("the Responses API has no field max_tokens: use max_output_tokens");
    // Defaults sent explicitly ask for nothing and are accepted; so is store either way.
    await expect(ask({ store: true })).resolves.toBeUndefined();
    await expect(
      ask({ metadata: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, "v".repeat(512)])) }),
    ).resolves.toBeUndefined();
    await expect(
      ask({
        store: false,
        tools: [],
        tool_choice: "auto",
        text: { format: { type: "text" } },
        reasoning: null,
      }),
    ).resolves.toBeUndefined();
    expect(t.dispatcher.requests.length).toBe(before + 3);
  });

  it("refuses tool_choice and function_call_output items that match no tool or call, with nothing relayed or billed", async () => {
    const { openai, key } = await t.newKey();
    const before = t.dispatcher.requests.length;
    const user = { role: "user" as const, content: "What time is it?" };
    const cases: [Omit<OpenAI.Responses.ResponseCreateParamsNonStreaming, "model">, string][] = [
      [{ input: "x", tool_choice: "required" }, "tool_choice"],
      [{ input: "x", tool_choice: { type: "function", name: "now" } }, "tool_choice"],
      [{ input: "x", tools, tool_choice: { type: "function", name: "clock" } }, "tool_choice.name"],
      [{ input: [user, output("c1")] }, "input[1].call_id"],
      [{ input: [user, call("c1"), output("c2")] }, "input[2].call_id"],
      [{ input: [user, output("c1"), call("c1")] }, "input[1].call_id"],
      [{ input: [user, call("c1"), output("c1"), output("c1")] }, "input[3].call_id"],
      [{ input: [user, call("c1"), call("c1")] }, "input[2].call_id"],
      [{ input: [user, call("c1")], tools }, "input[1].call_id"],
      [{ input: [user, call("c1"), call("c2"), output("c1")], tools }, "input[2].call_id"],
      [{ input: [user, call("c1"), user, output("c1")], tools }, "input[1].call_id"],
      [{ input: [user, call("c1"), output("c1"), call("c2"), user], tools }, "input[3].call_id"],
      [
        { input: [user, call("c1"), call("c2"), output("c1"), call("c3"), output("c2")], tools },
        "input[2].call_id",
      ],
    ];
    for (const [body, param] of cases) {
      const error = await openai.responses
        .create({ model: "llama-2-13b", ...body })
        .then(() => undefined, asApiError);
      expect({ param, status: error?.status, code: error?.code }).toEqual({
        param: error?.param,
        status: 400,
        code: "INVALID_REQUEST",
      });
    }
    expect(t.dispatcher.requests.length).toBe(before);
    expect(await usageOf(key.id)).toMatchObject({ requests: 0, spentMicroUsd: 0, reservedMicroUsd: 0 });
  });

  it("relays the input of a tool loop: one call, or parallel calls, their outputs, then the answer", async () => {
    const { openai } = await t.newKey();
    const user = { role: "user" as const, content: "What time is it in Oslo, Lima and Pune?" };
    const answer = { role: "assistant" as const, content: "Noon everywhere." };
    const inputs: OpenAI.Responses.ResponseInput[] = [
      [user, call("c1"), output("c1")],
      [user, call("c1"), output("c1"), answer, user],
      [user, call("c1"), call("c2"), call("c3"), output("c3"), output("c1"), output("c2"), answer],
      [user, call("c1"), output("c1"), call("c2"), output("c2")],
    ];
    for (const input of inputs) {
      const before = t.dispatcher.requests.length;
      await openai.responses.create({ model: "llama-2-13b", input, tools, parallel_tool_calls: false });
      expect(t.dispatcher.requests.length).toBe(before + 1);
      expect(lastRequest().body).toMatchObject({ parallel_tool_calls: false });
    }
    // Without tools parallel_tool_calls asks for nothing: taken, and not relayed.
    await openai.responses.create({ model: "llama-2-13b", input: "hi", parallel_tool_calls: false });
    expect(lastRequest().body).not.toHaveProperty("parallel_tool_calls");
  });

  it("an over-long input is refused with the chat path's code, naming the Responses field", async () => {
    const { openai } = await t.newKey();
    const error = await openai.responses
      .create({ model: "llama-2-13b", input: "word ".repeat(300) })
      .then(() => undefined, asApiError);
    expect(error?.code).toBe("INPUT_TOO_LONG");
    expect(error?.param).toBe("input");
  });
});

describe("/v1/responses with the Vercel AI SDK's default OpenAI provider", () => {
  it("generateText: text, usage and finish reason", async () => {
    const { secret, key } = await t.newKey();
    const result = await generateText({
      model: aiSdk(secret)("llama-2-13b"),
      system: "Be brief.",
      prompt: "Say hi",
      maxOutputTokens: 4,
      temperature: 0.5,
    });
    expect(result.text).toBe("the quick relay carries");
    expect(result.finishReason).toBe("stop");
    expect(result.usage.outputTokens).toBe(4);
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    expect(lastRequest().body).toMatchObject({ max_tokens: 4, temperature: 0.5 });
    expect(await usageOf(key.id)).toMatchObject({ requests: 1, spentMicroUsd: 750 });
  });

  it("streamText: the deltas add up to the text, with usage at the end", async () => {
    const { secret } = await t.newKey();
    const result = streamText({ model: aiSdk(secret)("mistral-7b"), prompt: "Count", maxOutputTokens: 3 });
    const parts: string[] = [];
    for await (const delta of result.textStream) parts.push(delta);
    expect(parts.join("")).toBe("the quick relay");
    expect((await result.usage).outputTokens).toBe(3);
    expect(await result.finishReason).toBe("stop");
  });

  it("multi-turn with default settings: the earlier answer goes back as an item_reference the gateway opens", async () => {
    const { secret } = await t.newKey();
    const model = aiSdk(secret)("llama-2-13b");
    const first = await generateText({ model, prompt: "Name a colour." });
    const history = [{ role: "user" as const, content: "Name a colour." }, ...first.response.messages];
    const second = await generateText({
      model,
      messages: [...history, { role: "user", content: "Another?" }],
    });
    expect(second.text.length).toBeGreaterThan(0);
    const sent = t.dispatcher.requests.at(-1)!;
    expect(sent.body.messages).toEqual([
      { role: "user", content: "Name a colour." },
      { role: "assistant", content: first.text },
      { role: "user", content: "Another?" },
    ]);
    // With `store: false` the SDK sends the text itself: the same conversation reaches the node.
    await generateText({
      model,
      messages: [...history, { role: "user", content: "Another?" }],
      providerOptions: { openai: { store: false } },
    });
    expect(lastRequest().body.messages).toEqual(sent.body.messages);
  });

  it("multi-turn after streamText with default settings: the streamed item goes back as an item_reference the gateway opens", async () => {
    const { secret } = await t.newKey();
    const model = aiSdk(secret)("mistral-7b");
    const first = streamText({ model, prompt: "Name a colour.", maxOutputTokens: 3 });
    const history = [
      { role: "user" as const, content: "Name a colour." },
      ...(await first.response).messages,
    ];
    // The SDK sends an item_reference to the id it saw at output_item.added (store defaults to true).
    const second = streamText({ model, messages: [...history, { role: "user", content: "Another?" }] });
    expect((await second.text).length).toBeGreaterThan(0);
    const sent = lastRequest().body.messages as unknown[];
    expect(sent).toEqual([
      { role: "user", content: "Name a colour." },
      { role: "assistant", content: await first.text },
      { role: "user", content: "Another?" },
    ]);
    // A third turn refers to both streamed answers; generateText reads them the same way.
    const third = await generateText({
      model,
      messages: [
        ...history,
        { role: "user", content: "Another?" },
        ...(await second.response).messages,
        { role: "user", content: "And one more?" },
      ],
    });
    expect(third.text.length).toBeGreaterThan(0);
    expect(lastRequest().body.messages).toEqual([
      ...sent,
      { role: "assistant", content: await second.text },
      { role: "user", content: "And one more?" },
    ]);
    // With `store: false` the SDK sends the text itself, and the gateway keeps nothing of the stream.
    const unkept = streamText({
      model,
      prompt: "Name a colour.",
      providerOptions: { openai: { store: false } },
    });
    const unkeptHistory = [
      { role: "user" as const, content: "Name a colour." },
      ...(await unkept.response).messages,
    ];
    await generateText({
      model,
      messages: [...unkeptHistory, { role: "user", content: "Another?" }],
      providerOptions: { openai: { store: false } },
    });
    expect(lastRequest().body.messages).toEqual([
      { role: "user", content: "Name a colour." },
      { role: "assistant", content: await unkept.text },
      { role: "user", content: "Another?" },
    ]);
    const refused = await generateText({
      model,
      messages: [...unkeptHistory, { role: "user", content: "Another?" }],
      maxRetries: 0,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(APICallError.isInstance(refused)).toBe(true);
    expect((refused as APICallError).statusCode).toBe(400);
    expect((refused as APICallError).responseBody).toContain("RESPONSE_NOT_STORED");
  });
});

describe("/v1/responses with LangChain's ChatOpenAI (useResponsesApi: true)", () => {
  const chat = (secret: string, maxTokens?: number) =>
    new ChatOpenAI({
      model: "llama-2-13b",
      apiKey: secret,
      configuration: { baseURL: `${t.gateway.url}/v1` },
      useResponsesApi: true,
      maxRetries: 0,
      ...(maxTokens === undefined ? {} : { maxTokens }),
    });

  it("invoke and stream, then a second turn with each answer as history", async () => {
    const { secret, key } = await t.newKey();
    const before = t.dispatcher.requests.length;
    const answer = await chat(secret, 3).invoke("Say hi");
    expect(answer.content).toEqual([expect.objectContaining({ type: "text", text: "the quick relay" })]);
    expect(answer.usage_metadata).toMatchObject({ output_tokens: 3 });
    expect(lastRequest().body).toMatchObject({
      max_tokens: 3,
      messages: [{ role: "user", content: "Say hi" }],
    });

    let streamedText = "";
    let whole: AIMessageChunk | undefined;
    for await (const chunk of await chat(secret, 2).stream("Count")) {
      for (const part of Array.isArray(chunk.content) ? chunk.content : [chunk.content])
        streamedText += typeof part === "string" ? part : "text" in part ? String(part.text) : "";
      whole = whole === undefined ? chunk : whole.concat(chunk);
    }
    expect(streamedText).toBe("the quick");
    expect(lastRequest().body).toMatchObject({ stream: true, max_tokens: 2 });

    // Earlier answers go back as history (LangChain sends their text or their item ids).
    const second = await chat(secret).invoke([
      new HumanMessage("Say hi"),
      answer,
      new HumanMessage("Again?"),
    ]);
    expect(second.content.length).toBeGreaterThan(0);
    expect(lastRequest().body.messages).toEqual([
      { role: "user", content: "Say hi" },
      { role: "assistant", content: "the quick relay" },
      { role: "user", content: "Again?" },
    ]);
    // The streamed answer as history too.
    await chat(secret).invoke([new HumanMessage("Count"), whole!, new HumanMessage("More?")]);
    expect(lastRequest().body.messages).toEqual([
      { role: "user", content: "Count" },
      { role: "assistant", content: "the quick" },
      { role: "user", content: "More?" },
    ]);
    expect(t.dispatcher.requests.length).toBe(before + 4);
    expect((await usageOf(key.id)).requests).toBe(4);
  });
});
