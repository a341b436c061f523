import type { APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../../../test/support/gateway-test-harness.js";
import { inputParamName, translateResponsesRequest } from "./responses-request.js";
import { responsesParamName } from "./responses-surface.js";

const MAX_JSON_BODY = 64 * 1024;

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway({ maxBodyBytes: { json: MAX_JSON_BODY } });
}, 30_000);
afterAll(() => t?.close());

const usageOf = (keyId: string) => t.admin.admin.usage.byKey.query({ keyId });

describe("/v1/responses item_reference", () => {
  it("references stand for no more text than one body may carry: a long answer's id repeated is 413 REQUEST_TOO_LARGE, nothing relayed or billed", async () => {
    const { openai, key } = await t.newKey();
    // An answer over the 32 KiB a message item id can seal is kept: its id is 87 characters.
    t.dispatcher.chatAnswer = "x".repeat(40_000);
    const first = await openai.responses.create({ model: "llama-2-13b", input: "Say x" });
    t.dispatcher.chatAnswer = undefined;
    const id = first.output[0]!.id!;
    expect(id).toMatch(/^msg_pk2/);
    const refer = (times: number) =>
      openai.responses.create({
        model: "llama-2-13b",
        input: [
          { role: "user", content: "Say x" },
          ...Array.from({ length: times }, () => ({ type: "item_reference" as const, id })),
          { role: "user", content: "Again?" },
        ],
      });

    // Once: the text is back in the conversation, as a body of its own could have carried it.
    await refer(1);
    expect(t.dispatcher.requests.at(-1)!.body.messages).toContainEqual({
      role: "assistant",
      content: first.output_text,
    });
    const spent = (await usageOf(key.id)).spentMicroUsd;
    const relayed = t.dispatcher.requests.length;

    // Twice is 80,000 characters of prompt from a body of a few hundred bytes: over the body limit.
    const refused = await refer(2).then(
      () => undefined,
      (e: unknown) => e as APIError,
    );
    expect(refused?.status).toBe(413);
    expect(refused?.code).toBe("REQUEST_TOO_LARGE");
    expect(refused?.param).toBe("input[2].id");
    expect(refused?.message).toContain(`${MAX_JSON_BODY} bytes, the gateway's maxBodyBytes`);
    expect(t.dispatcher.requests.length).toBe(relayed);
    expect(await usageOf(key.id)).toMatchObject({ spentMicroUsd: spent, reservedMicroUsd: 0 });
  });
});

describe("responsesParamName", () => {
  it("names a refused chat field as the Responses API does, indexed or not", () => {
    expect(responsesParamName("messages")).toBe("input");
    expect(responsesParamName("messages[1].tool_call_id")).toBe("input[1].tool_call_id");
    expect(responsesParamName("messages[0].content[2].type")).toBe("input[0].content[2].type");
    expect(responsesParamName("max_tokens")).toBe("max_output_tokens");
    expect(responsesParamName("response_format.json_schema.name")).toBe("text.format.json_schema.name");
    // Fields of the same name elsewhere, and the client's own names, stay as they are.
    for (const same of ["input[3].id", "tools[0].name", "messages_extra", "constructor", ""])
      expect(responsesParamName(same)).toBe(same);
  });
});

describe("inputParamName", () => {
  const noReferences = () => {
    throw new Error("no item_reference in these inputs");
  };
  const originsOf = (body: Record<string, unknown>) => {
    const translated = translateResponsesRequest({ model: "llama-2-13b", ...body }, noReferences);
    if (!translated.ok) throw new Error(translated.error.message);
    return translated.value.origins;
  };

  it("names the input item a chat message was made from, past instructions and gathered function calls", () => {
    const origins = originsOf({
      instructions: "Be brief.",
      input: [
        { role: "user", content: "Weather in Oslo and Bergen?" },
        { type: "function_call", call_id: "a", name: "weather", arguments: '{"city":"Oslo"}' },
        { type: "function_call", call_id: "b", name: "weather", arguments: '{"city":"Bergen"}' },
        { type: "function_call_output", call_id: "b", output: "rain" },
        { type: "function_call_output", call_id: "a", output: "sun" },
        { role: "user", content: "And tomorrow?" },
      ],
    });
    // Chat: system, user, assistant (two calls), tool, tool, user.
    expect(inputParamName(origins, "messages[0].content")).toBe("instructions");
    expect(inputParamName(origins, "messages[1].content")).toBe("input[0].content");
    expect(inputParamName(origins, "messages[2].tool_calls[0].id")).toBe("input[1].call_id");
    expect(inputParamName(origins, "messages[2].tool_calls[1].function.name")).toBe("input[2].name");
    expect(inputParamName(origins, "messages[2].tool_calls[1]")).toBe("input[2]");
    expect(inputParamName(origins, "messages[3].tool_call_id")).toBe("input[3].call_id");
    expect(inputParamName(origins, "messages[4].content")).toBe("input[4].content");
    expect(inputParamName(origins, "messages[5].content")).toBe("input[5].content");
    // Past the conversation, or not a message field: left to the field renames.
    expect(inputParamName(origins, "messages[6].content")).toBeUndefined();
    expect(inputParamName(origins, "messages[2].tool_calls[2].id")).toBeUndefined();
    expect(inputParamName(origins, "max_tokens")).toBeUndefined();
  });

  it("a string input is the one user message", () => {
    const origins = originsOf({ input: "Hi" });
    expect(inputParamName(origins, "messages[0].content")).toBe("input");
  });
});
