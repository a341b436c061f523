import { createServer, type Server } from "node:http";
import { decodePng } from "@pocket-ai/png";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NodeHarness, startTestNode, TestGateway } from "./helpers/node-harness.js";

/** Names of an object's own properties: a lookup on a plain object finds them where nothing was put. */
const NAMES = ["toString", "__proto__", "constructor", "valueOf", "hasOwnProperty"] as const;

let h: NodeHarness;
const gw = new TestGateway();

beforeAll(async () => {
  h = await startTestNode({
    services: [
      {
        serviceId: "llama-2-13b",
        tiers: ["standard"],
        backends: [{ kind: "dev", capabilities: { tools: true, jsonSchema: true, logitBias: true } }],
      },
      { serviceId: "stable-diffusion", tiers: ["standard"], backends: [{ kind: "dev" }] },
    ],
  });
});
afterAll(async () => {
  await h.stop();
});

/** A JSON body as a client's JSON parser reads it: `"__proto__"` is an own key, not the prototype. */
const json = (text: string) => JSON.parse(text) as Record<string, unknown>;

/** Share of a PNG's coloured pixels whose hue is within 40° of red. */
function redShare(png: Uint8Array): number {
  const { data } = decodePng(png);
  let colored = 0;
  let red = 0;
  for (let p = 0; p < data.length; p += 4) {
    const [r, g, b] = [data[p]!, data[p + 1]!, data[p + 2]!];
    const max = Math.max(r, g, b);
    const d = max - Math.min(r, g, b);
    if (d === 0) continue;
    colored++;
    const sector = max === r ? ((g - b) / d + 6) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
    const hue = sector * 60;
    if (hue < 40 || hue > 320) red++;
  }
  return red / colored;
}

describe("names of an object's own properties in a relay", () => {
  it("are refused or served like any other name, never an internal failure", async () => {
    const chat = { operation: "chat.completions" as const };
    for (const name of NAMES) {
      const n = JSON.stringify(name);
      const role = await h.client.relay.mutate(
        gw.request({ model: "llama-2-13b", messages: [{ role: name, content: "hi" }] }, chat),
      );
      expect(role.error?.code, `role ${name}`).toBe("INVALID_REQUEST");
      const served = [
        json(`{"model":"llama-2-13b","prompt":"hi","max_tokens":2,${n}:{"max_tokens":900}}`),
        json(`{"model":"llama-2-13b","prompt":"hi","max_tokens":2,"logit_bias":{${n}:1}}`),
        json(`{"model":"${name}","prompt":"${name}","max_tokens":2,"stop":[${n}],"echo":true,"logprobs":2}`),
      ];
      for (const payload of served) {
        const response = await h.client.relay.mutate(gw.request(payload));
        expect(response.outcome, JSON.stringify(payload)).toBe("ok");
      }
      const tools = json(
        `{"model":"llama-2-13b","max_tokens":2,"messages":[{"role":"user","content":"hi",${n}:1}],` +
          `"tools":[{"type":"function","function":{"name":${n},"parameters":{"type":"object","properties":{${n}:{}}}}}],` +
          `"response_format":{"type":"json_schema","json_schema":{"name":${n},"schema":{"properties":{${n}:{}}}}}}`,
      );
      expect((await h.client.relay.mutate(gw.request(tools, chat))).outcome, `tools ${name}`).toBe("ok");
    }
  });

  it("paint a picture in the prompt's colour, not in one an object's `constructor` stood for", async () => {
    // The development backend's colour words were looked up on a plain object: `constructor` was
    // taken for a colour (the Object function, with no hue of its own) and turned much of a red
    // prompt's picture to a random hue.
    for (const prompt of ["constructor red", "a red Constructor, a red barn"]) {
      for (const seed of [1, 2, 3]) {
        const response = await h.client.relay.mutate(
          gw.request(
            { model: "stable-diffusion", prompt, size: "64x64", seed },
            { operation: "images.generations", serviceId: "stable-diffusion" },
          ),
        );
        expect(response.outcome).toBe("ok");
        const b64 = (response.payload as { data: { b64_json: string }[] }).data[0]!.b64_json;
        expect(redShare(Buffer.from(b64, "base64")), `${prompt}, seed ${seed}`).toBeGreaterThan(0.9);
      }
    }
  });
});

describe("an engine's finish_reason named like an object's own property", () => {
  let engine: Server;
  let node: NodeHarness;
  let reason = "stop";

  beforeAll(async () => {
    // An OpenAI-compatible engine whose answers end with `reason`.
    engine = createServer((request, response) => {
      request.resume();
      request.on("end", () => {
        response.writeHead(200, { "content-type": "application/json" });
        response.end(
          JSON.stringify({
            id: "cmpl-1",
            object: "text_completion",
            created: 1,
            model: "served",
            choices: [{ index: 0, text: "hi", logprobs: null, finish_reason: reason }],
            usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => engine.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(engine.address() as { port: number }).port}`;
    node = await startTestNode({
      services: [
        {
          serviceId: "llama-2-13b",
          tiers: ["standard"],
          backends: [{ kind: "vllm", url, probeAtStart: false }],
        },
      ],
    });
  });
  afterAll(async () => {
    await node.stop();
    await new Promise((resolve) => engine.close(resolve));
  });

  it("is `stop`, as any other unknown word, and the answer is signed", async () => {
    // `constructor` was the Object function (no canonical JSON: BACKEND_ERROR), `__proto__` an
    // object signed as the finish reason.
    for (const word of ["constructor", "__proto__", "Constructor"]) {
      reason = word;
      const response = await node.client.relay.mutate(
        gw.request({ model: "llama-2-13b", prompt: "hi", max_tokens: 2 }),
      );
      expect(response.outcome, word).toBe("ok");
      const choices = (response.payload as { choices: { finish_reason: unknown }[] }).choices;
      expect(choices[0]?.finish_reason, word).toBe("stop");
    }
  });
});
