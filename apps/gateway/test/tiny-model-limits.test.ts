import { ServiceSpec } from "@pocket-ai/protocol";
import { TINY_MODEL_SPEC, tinyModelPath } from "@pocket-ai/tiny-model";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { refusal } from "./support/api-refusal.js";
import { type LiveNetwork, nodeBlame, startLiveNetwork } from "./support/live-network.js";

/**
 * A prompt over the tier's input limit as only the node can count it: the tiny llama
 * (`tooling/tiny-model`, one token a character) in llama.cpp in-process, a model whose tokenizer
 * the gateway lacks. Its front door counts words (a lower bound) and lets the prompt through; the
 * node counts it with the model's tokenizer and signs INPUT_TOO_LONG; the gateway's recheck
 * (UTF-8 bytes, an upper bound) cannot disprove it, so it is believed as unproven (another node of
 * the session would be asked first; this network has one). The client, over real HTTP with the
 * official `openai` client, must still learn the limit and the field, and no node is blamed.
 */

const TINY = ServiceSpec.parse(TINY_MODEL_SPEC);

// 600 characters in 150 words: under 380 by the front door's word count, over it by the model's.
const LONG = "the cat sat on the mat. ".repeat(25);

let net: LiveNetwork;
let client: OpenAI;
beforeAll(async () => {
  net = await startLiveNetwork({
    catalog: { services: [TINY] },
    textService: {
      serviceId: TINY.id,
      tiers: ["standard"],
      model: { declared: "pocket-tiny", family: "pocket-tiny", quantization: "f16" },
    },
    backends: [
      { kind: "gguf", modelPath: tinyModelPath("pocket-tiny"), gpu: "off", threads: 1, timeoutMs: 60_000 },
    ],
  });
  client = new OpenAI({
    apiKey: (await net.newKey()).secret,
    baseURL: `${net.gateway.url}/v1`,
    maxRetries: 0,
  });
}, 60_000);
afterAll(() => net?.close());

/**
 * The message of an INPUT_TOO_LONG the gateway could only bound: the tier's limit, counted by the
 * serving model's tokenizer, never the gateway's bound as if it were the count.
 */
function checkBoundedMessage(error: InstanceType<typeof OpenAI.APIError>): void {
  const message = (error.error as { message: string }).message;
  expect(message).toMatch(
    /^the input is longer than the tier's 380 input tokens per prompt by the serving model's tokenizer\. /,
  );
  expect(message).toContain("Shorten the prompt");
  expect(message).not.toMatch(/\b60\d\b/);
}

describe("a prompt over the tiny model's input limit, refused by its node", () => {
  it("tells the client the tier's limit by the model's tokenizer, naming the field, and blames no node", async () => {
    const completion = await refusal(
      client.completions.create({ model: "pocket-tiny", prompt: LONG, max_tokens: 8 }),
    );
    expect({ status: completion.status, code: completion.code, param: completion.param }).toEqual({
      status: 400,
      code: "INPUT_TOO_LONG",
      param: "prompt",
    });
    // 600 by the model's tokenizer, which the gateway lacks: it states the limit, not its UTF-8 bound.
    checkBoundedMessage(completion);

    const chat = await refusal(
      client.chat.completions.create({
        model: "pocket-tiny",
        messages: [{ role: "user", content: LONG }],
        max_tokens: 8,
      }),
    );
    expect({ status: chat.status, code: chat.code, param: chat.param }).toEqual({
      status: 400,
      code: "INPUT_TOO_LONG",
      param: "messages",
    });
    checkBoundedMessage(chat);

    const streamed = await refusal(
      client.completions.create({ model: "pocket-tiny", prompt: LONG, max_tokens: 8, stream: true }),
    );
    expect({ code: streamed.code, param: streamed.param }).toEqual({
      code: "INPUT_TOO_LONG",
      param: "prompt",
    });
    checkBoundedMessage(streamed);

    // Each was the node's signed refusal, believed: no node blamed.
    const metrics = await (await fetch(`${net.gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/pocket_gateway_node_relays_total\{[^}]*outcome="INPUT_TOO_LONG"[^}]*\} 3$/m);
    expect(nodeBlame(metrics)).toEqual([]);
  });
});
