import OpenAI, { type APIError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../../test/support/gateway-test-harness.js";

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway();
}, 30_000);
afterAll(() => t?.close());

const asApiError = (e: unknown) => e as APIError;
const chat = (openai: OpenAI) =>
  openai.chat.completions
    .create({ model: "llama-2-13b", messages: [{ role: "user", content: "x" }], max_tokens: 4 })
    .withResponse();

describe("GET /v1/models/{id}", () => {
  it("retrieves a listed name, an alias-free service id and a service:tier name in OpenAI's shape", async () => {
    t.dispatcher.availability.set("llama-2-13b:batch", { nodes: 2 });
    const { openai } = await t.newKey();
    const batch = (await openai.models.retrieve("llama-2-13b:batch")) as OpenAI.Model & {
      pocket: Record<string, unknown>;
    };
    expect(batch).toMatchObject({ id: "llama-2-13b:batch", object: "model", owned_by: "pocket-ai" });
    expect(batch.pocket).toMatchObject({ service_id: "llama-2-13b", tier: "batch", available_nodes: 2 });
    const plain = await openai.models.retrieve("llama-2-13b");
    expect(plain.id).toBe("llama-2-13b");
  });

  it("an unknown model is a 404 NotFoundError with UNKNOWN_MODEL", async () => {
    const { openai } = await t.newKey();
    for (const name of ["gpt-17", "llama-2-13b:gold"]) {
      const error = await openai.models.retrieve(name).then(() => undefined, asApiError);
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect(error?.code).toBe("UNKNOWN_MODEL");
    }
  });
});

describe("x-request-id", () => {
  it("is on every answer, fresh per request, and the SDK exposes it", async () => {
    const { openai } = await t.newKey();
    const one = await chat(openai);
    const two = await chat(openai);
    expect(one.request_id).toMatch(/^req_[0-9a-f]{24}$/);
    expect(two.request_id).toMatch(/^req_[0-9a-f]{24}$/);
    expect(one.request_id).not.toBe(two.request_id);
    const models = await fetch(`${t.gateway.url}/v1/models`);
    expect(models.headers.get("x-request-id")).toMatch(/^req_/);
    const health = await fetch(`${t.gateway.url}/health`);
    expect(health.headers.get("x-request-id")).toMatch(/^req_/);
  });

  it("echoes a safe client id and replaces an unsafe or overlong one", async () => {
    const { openai } = await t.newKey();
    const echoed = await openai.chat.completions
      .create(
        { model: "llama-2-13b", messages: [{ role: "user", content: "x" }] },
        { headers: { "x-request-id": "trace-0123:abc.def_9" } },
      )
      .withResponse();
    expect(echoed.request_id).toBe("trace-0123:abc.def_9");
    for (const unsafe of ["has space in it", "x".repeat(65), "short", "semi;colon-value"]) {
      const answer = await fetch(`${t.gateway.url}/v1/models`, { headers: { "x-request-id": unsafe } });
      const id = answer.headers.get("x-request-id");
      expect(id).not.toBe(unsafe);
      expect(id).toMatch(/^req_[0-9a-f]{24}$/);
    }
  });

  it("is in the error envelope, matching the header, so a failure can be found without the prompt", async () => {
    const { openai } = await t.newKey();
    const error = await openai.chat.completions
      .create({ model: "gpt-17", messages: [{ role: "user", content: "x" }] })
      .then(() => undefined, asApiError);
    expect(error?.requestID).toMatch(/^req_/);
    expect((error?.error as { request_id?: string } | undefined)?.request_id).toBe(error?.requestID);
    t.dispatcher.interruptStreamsAfter = 1;
    const streamed = await (async () => {
      const stream = await openai.chat.completions.create({
        model: "llama-2-13b",
        messages: [{ role: "user", content: "x" }],
        stream: true,
      });
      for await (const _ of stream);
    })().then(() => undefined, asApiError);
    t.dispatcher.interruptStreamsAfter = undefined;
    expect(streamed?.code).toBe("STREAM_INTERRUPTED");
    expect((streamed?.error as { request_id?: string } | undefined)?.request_id).toMatch(
      /^req_[0-9a-f]{24}$/,
    );
  });
});

describe("x-ratelimit-* headers", () => {
  it("count down the key's real requests window and tokens window", async () => {
    const { openai } = await t.newKey({ rpm: 3, tpm: 100_000 });
    const first = await chat(openai);
    const headers = first.response.headers;
    expect(headers.get("x-ratelimit-limit-requests")).toBe("3");
    expect(headers.get("x-ratelimit-remaining-requests")).toBe("2");
    expect(headers.get("x-ratelimit-reset-requests")).toBe("60s");
    expect(headers.get("x-ratelimit-limit-tokens")).toBe("100000");
    const tokensLeft = Number(headers.get("x-ratelimit-remaining-tokens"));
    expect(tokensLeft).toBeLessThan(100_000);
    const second = await chat(openai);
    expect(second.response.headers.get("x-ratelimit-remaining-requests")).toBe("1");
    expect(Number(second.response.headers.get("x-ratelimit-remaining-tokens"))).toBeLessThan(tokensLeft);
  });

  it("a key with a requests limit only has no tokens headers; one with no limits has none", async () => {
    const limited = await chat((await t.newKey({ rpm: 10 })).openai);
    expect(limited.response.headers.get("x-ratelimit-remaining-requests")).toBe("9");
    expect(limited.response.headers.get("x-ratelimit-limit-tokens")).toBeNull();
    const open = await chat((await t.newKey()).openai);
    expect(open.response.headers.get("x-ratelimit-limit-requests")).toBeNull();
  });
});
