import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type MessageItemIds, responsesPresenter } from "./responses-answer.js";
import { type ResponsesEcho, translateResponsesRequest } from "./responses-request.js";
import { MAX_ITEM_ID_CHARS, MAX_SEALED_TEXT_BYTES, MessageItemSeal } from "./sealed-items.js";
import { StreamedItemStore } from "./streamed-items.js";

const echo: ResponsesEcho = {
  instructions: null,
  maxOutputTokens: 2,
  temperature: null,
  topP: null,
  metadata: {},
  user: null,
  tools: [],
  toolChoice: "auto",
  parallelToolCalls: true,
  textFormat: { type: "text" },
  store: true,
};
const seal = new MessageItemSeal(randomBytes(32));
const streamedItems = new StreamedItemStore(
  { ttlMs: 60_000, maxBytes: 1 << 20 },
  "0123456789abcdef",
  randomBytes(32),
);
const sealFor = (app: string): MessageItemIds => ({
  sealed: (text) => seal.seal(text, app),
  streamed: () => streamedItems.announce(app),
});
const present = () => responsesPresenter(echo, "m:standard", 1, sealFor("app1"));
const noReferences = () => {
  throw new Error("no reference expected");
};
const translate = (raw: unknown) =>
  translateResponsesRequest(raw, (id, param) => seal.open(id, "app1", param));

const events = (sse: string) =>
  sse
    .split("\n\n")
    .filter((block) => block !== "")
    .map((block) => JSON.parse(block.split("\n")[1]!.slice("data: ".length)) as Record<string, unknown>);

describe("Responses answers from chat answers", () => {
  it("a chat answer cut by its length limit is an incomplete response with max_output_tokens", () => {
    const body = present().unary({
      choices: [{ index: 0, message: { role: "assistant", content: "two words" }, finish_reason: "length" }],
      usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
    }) as Record<string, unknown>;
    expect(body).toMatchObject({
      status: "incomplete",
      incomplete_details: { reason: "max_output_tokens" },
      usage: { input_tokens: 5, output_tokens: 2, total_tokens: 7 },
      output: [
        { type: "message", status: "incomplete", content: [{ type: "output_text", text: "two words" }] },
      ],
    });
  });

  it("a stream whose last chunk says length ends with response.incomplete", () => {
    const p = present();
    const sse =
      p.open() +
      p.chunk({ choices: [{ index: 0, delta: { content: "two" }, finish_reason: null }] }) +
      p.chunk({ choices: [{ index: 0, delta: { content: " words" }, finish_reason: "length" }] }) +
      p.chunk({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 2 } }) +
      p.close();
    const all = events(sse);
    expect(all.at(-1)).toMatchObject({
      type: "response.incomplete",
      response: {
        status: "incomplete",
        usage: { output_tokens: 2 },
        incomplete_details: { reason: "max_output_tokens" },
      },
    });
    expect(all.find((e) => e.type === "response.output_text.done")).toMatchObject({ text: "two words" });
  });

  it("tool calls become function_call items; streamed ones come as argument deltas", () => {
    const body = present().unary({
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: null,
            tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: '{"a":1}' } }],
          },
          finish_reason: "tool_calls",
        },
      ],
      usage: { prompt_tokens: 5, completion_tokens: 2 },
    }) as { status: string; output: unknown[] };
    expect(body.status).toBe("completed");
    expect(body.output).toEqual([
      expect.objectContaining({ type: "function_call", call_id: "call_1", name: "f", arguments: '{"a":1}' }),
    ]);

    const p = present();
    const call = (delta: Record<string, unknown>, finish: string | null = null) =>
      p.chunk({ choices: [{ index: 0, delta: { tool_calls: [delta] }, finish_reason: finish }] });
    const all = events(
      p.open() +
        call({ index: 0, id: "call_9", type: "function", function: { name: "g", arguments: "" } }) +
        call({ index: 0, function: { arguments: '{"b":' } }) +
        call({ index: 0, function: { arguments: "2}" } }, "tool_calls") +
        p.close(),
    );
    expect(all.map((e) => e.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(all[5]).toMatchObject({ arguments: '{"b":2}', name: "g" });
    expect(all[7]).toMatchObject({
      response: { output: [{ type: "function_call", call_id: "call_9", arguments: '{"b":2}' }] },
    });
  });
});

describe("message item ids that carry their text", () => {
  it("a unary answer's item id opens to its text, for the same application only", () => {
    const body = present().unary({
      choices: [{ index: 0, message: { role: "assistant", content: "Blue." }, finish_reason: "stop" }],
    }) as { output: { id: string }[] };
    const id = body.output[0]!.id;
    expect(id.startsWith("msg_pk1")).toBe(true);
    expect(seal.open(id, "app1", "p")).toEqual({ ok: true, value: "Blue." });
    expect(seal.open(id, "app2", "p")).toMatchObject({
      ok: false,
      error: { code: "INVALID_ITEM_REFERENCE" },
    });
    const other = new MessageItemSeal(randomBytes(32));
    expect(other.open(id, "app1", "p")).toMatchObject({
      ok: false,
      error: { code: "INVALID_ITEM_REFERENCE" },
    });
    // One changed character anywhere in the sealed part is caught.
    const flipped = `${id.slice(0, 20)}${id[20] === "A" ? "B" : "A"}${id.slice(21)}`;
    expect(seal.open(flipped, "app1", "p")).toMatchObject({
      ok: false,
      error: { code: "INVALID_ITEM_REFERENCE" },
    });
    expect(seal.open("msg_pk1", "app1", "p")).toMatchObject({
      ok: false,
      error: { code: "INVALID_ITEM_REFERENCE" },
    });
  });

  it("ids are bounded: a text over the limit gets a plain id, an over-long reference is refused", () => {
    const longest = seal.seal("x".repeat(MAX_SEALED_TEXT_BYTES), "app1");
    expect(longest.length).toBeLessThanOrEqual(MAX_ITEM_ID_CHARS);
    expect(seal.open(longest, "app1", "p")).toMatchObject({ ok: true });
    const plain = seal.seal("x".repeat(MAX_SEALED_TEXT_BYTES + 1), "app1");
    expect(plain).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(seal.open(plain, "app1", "p")).toMatchObject({
      ok: false,
      error: { code: "RESPONSE_NOT_STORED" },
    });
    expect(seal.open(`msg_pk1${"A".repeat(MAX_ITEM_ID_CHARS)}`, "app1", "p")).toMatchObject({
      ok: false,
      error: { code: "INVALID_ITEM_REFERENCE" },
    });
  });

  it("a streamed item keeps the id it was announced with; its text is kept once the stream completes, not before", () => {
    const p = present();
    const head = events(
      p.open() + p.chunk({ choices: [{ index: 0, delta: { content: "hi " }, finish_reason: null }] }),
    );
    const added = head.find((e) => e.type === "response.output_item.added") as { item: { id: string } };
    expect(added.item.id).toMatch(/^msg_pk20123456789abcdef-[A-Za-z0-9_-]{64}$/);
    const ref = streamedItems.parse(added.item.id, "app1")!;
    expect(streamedItems.ciphertext(ref.hash)).toBeUndefined();
    const tail = events(
      p.chunk({ choices: [{ index: 0, delta: { content: "there" }, finish_reason: "stop" }] }) + p.close(),
    );
    const done = tail.find((e) => e.type === "response.output_item.done") as { item: { id: string } };
    const completed = tail.at(-1) as { response: { output: { id: string }[] } };
    expect(done.item.id).toBe(added.item.id);
    expect(completed.response.output[0]!.id).toBe(added.item.id);
    const kept = streamedItems.ciphertext(ref.hash)!;
    expect(streamedItems.open(ref, kept.bytes, "app1")).toBe("hi there");
  });

  it("a stream that fails keeps nothing", () => {
    const before = streamedItems.stats().items;
    const p = present();
    const head = events(
      p.open() + p.chunk({ choices: [{ index: 0, delta: { content: "half" }, finish_reason: null }] }),
    );
    const added = head.find((e) => e.type === "response.output_item.added") as { item: { id: string } };
    const tail = events(p.fail("STREAM_INTERRUPTED", undefined, "req-1"));
    expect(tail.map((e) => e.type)).toEqual(["error", "response.failed"]);
    expect(streamedItems.ciphertext(streamedItems.parse(added.item.id, "app1")!.hash)).toBeUndefined();
    expect(streamedItems.stats().items).toBe(before);
  });
});

describe("Responses requests as chat bodies", () => {
  it("maps the fields it offers and refuses non-text input without guessing", () => {
    // Who the end user is and how OpenAI would cache the prompt are echoed or dropped, never relayed.
    const ok = translateResponsesRequest(
      { model: "m", input: "hi", stream: true, user: "u1", safety_identifier: "h1", prompt_cache_key: "k1" },
      noReferences,
    );
    expect(ok.ok && ok.value.chat).toEqual({
      model: "m",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(ok.ok && ok.value.echo.user).toBe("u1");
    expect(translate({ model: "m", input: "hi", prompt_cache_key: 7 })).toMatchObject({
      ok: false,
      error: { code: "INVALID_REQUEST", param: "prompt_cache_key" },
    });
    const image = translate({
      model: "m",
      input: [{ role: "user", content: [{ type: "input_image", image_url: "https://x" }] }],
    });
    expect(!image.ok && image.error.code).toBe("UNSUPPORTED_RESPONSES_FEATURE");
    const none = translate({ model: "m", input: [{ role: "assistant", content: "x" }] });
    expect(!none.ok && none.error.param).toBe("input");
  });

  it("maps function tools, tool_choice, function calls, their outputs and text formats onto chat", () => {
    const earlier = seal.seal("Let me look.", "app1");
    const mapped = translate({
      model: "m",
      input: [
        { role: "user", content: "Weather?" },
        { type: "item_reference", id: earlier },
        { type: "function_call", call_id: "c1", name: "weather", arguments: '{"city":"Oslo"}', id: "fc_1" },
        { type: "function_call_output", call_id: "c1", output: '{"temp":3}' },
      ],
      tools: [{ type: "function", name: "weather", parameters: { type: "object" }, strict: true }],
      tool_choice: { type: "function", name: "weather" },
      parallel_tool_calls: false,
      text: { format: { type: "json_schema", name: "w", schema: { type: "object" }, strict: true } },
    });
    expect(mapped.ok && mapped.value.chat).toEqual({
      model: "m",
      messages: [
        { role: "user", content: "Weather?" },
        {
          role: "assistant",
          content: "Let me look.",
          tool_calls: [
            { id: "c1", type: "function", function: { name: "weather", arguments: '{"city":"Oslo"}' } },
          ],
        },
        { role: "tool", tool_call_id: "c1", content: '{"temp":3}' },
      ],
      tools: [
        { type: "function", function: { name: "weather", parameters: { type: "object" }, strict: true } },
      ],
      tool_choice: { type: "function", function: { name: "weather" } },
      parallel_tool_calls: false,
      response_format: {
        type: "json_schema",
        json_schema: { name: "w", schema: { type: "object" }, strict: true },
      },
    });
    const json = translate({ model: "m", input: "x", text: { format: { type: "json_object" } } });
    expect(json.ok && json.value.chat.response_format).toEqual({ type: "json_object" });
    const hosted = translate({ model: "m", input: "x", tools: [{ type: "web_search" }] });
    expect(!hosted.ok && [hosted.error.code, hosted.error.param]).toEqual([
      "UNSUPPORTED_RESPONSES_FEATURE",
      "tools[0].type",
    ]);
    const forged = translate({
      model: "m",
      input: [
        { role: "user", content: "x" },
        { type: "item_reference", id: "msg_pk1AAAA" },
      ],
    });
    expect(!forged.ok && [forged.error.code, forged.error.param]).toEqual([
      "INVALID_ITEM_REFERENCE",
      "input[1].id",
    ]);
  });
});
