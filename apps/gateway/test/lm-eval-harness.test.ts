import { DEFAULT_CATALOG, findService, findTier, isTextTier } from "@pocket-ai/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LiveNetwork, nodeBlame, startLiveNetwork } from "./support/live-network.js";
import { until } from "./support/until.js";

/**
 * The request shapes lm-evaluation-harness sends through its `local-completions` and
 * `local-chat-completions` models (plain HTTP POSTs with a bearer key), exactly as it builds them:
 * batched string prompts, token-id prompts, `max_tokens` 0 and 1 with `echo` and `logprobs` for
 * loglikelihood, `stop` lists and a seed for generation, one chat message per request. Sent over
 * real HTTP to a real gateway and real nodes; each answer is read the way the harness reads it.
 */

let net: LiveNetwork;
let key: { id: string; secret: string };
beforeAll(async () => {
  net = await startLiveNetwork({ nodes: 2 });
  const created = await net.newKey();
  key = { id: created.key.id, secret: created.secret };
}, 60_000);
afterAll(() => net?.close());

const standard = (() => {
  const tier = findTier(findService(DEFAULT_CATALOG, "llama-2-13b")!, "standard");
  if (tier === undefined || !isTextTier(tier)) throw new Error("the catalog has no standard text tier");
  return tier;
})();

async function post(path: string, body: unknown) {
  const response = await fetch(`${net.gateway.url}/v1/${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${key.secret}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

interface Choice {
  index: number;
  text: string;
  finish_reason: string;
  logprobs: {
    tokens: string[];
    token_logprobs: (number | null)[];
    top_logprobs: (Record<string, number> | null)[];
    text_offset: number[];
  } | null;
}
const choicesOf = (body: Record<string, unknown>) =>
  [...(body.choices as Choice[])].sort((a, b) => a.index - b.index);

const words = (n: number) =>
  Array.from(
    { length: n },
    (_, i) => ["The", "quick", "brown", "fox", "jumps", "over", "a", "dog"][i % 8],
  ).join(" ");

/** The spent micro-USD of the key once `requests` relays are settled. */
async function spentAfter(requests: number): Promise<number> {
  let spent = 0;
  await until(async () => {
    const usage = (await net.admin.admin.usage.byKey.query({ keyId: key.id })) as {
      requests: number;
      spentMicroUsd: number;
    };
    spent = usage.spentMicroUsd;
    return usage.requests >= requests;
  }, `${requests} settled relays`);
  return spent;
}

describe("lm-evaluation-harness request shapes", () => {
  it("loglikelihood, batched string prompts: echo, logprobs, max_tokens 1, one choice per prompt", async () => {
    const prompts = [
      "The capital of France is Paris",
      "Two plus two is four",
      "The sky is blue",
      "Water is wet",
    ];
    const { status, body } = await post("completions", {
      model: "llama-2-13b",
      prompt: prompts,
      temperature: 0,
      max_tokens: 1,
      logprobs: 1,
      seed: 1234,
      echo: true,
    });
    expect(status).toBe(200);
    const choices = choicesOf(body);
    expect(choices.map((c) => c.index)).toEqual([0, 1, 2, 3]);
    for (const [i, choice] of choices.entries()) {
      expect(choice.text.startsWith(prompts[i]!)).toBe(true);
      const lp = choice.logprobs!;
      // As the harness reads it: the prompt's first token unscored, every other one scored.
      expect(lp.token_logprobs[0]).toBeNull();
      expect(lp.token_logprobs.slice(1).every((v) => typeof v === "number" && v <= 0)).toBe(true);
      expect(lp.tokens.length).toBe(lp.token_logprobs.length);
      expect(lp.top_logprobs.length).toBe(lp.tokens.length);
      expect(lp.tokens.join("").startsWith(prompts[i]!)).toBe(true);
    }
  });

  it("loglikelihood, token-id prompts with max_tokens 0", async () => {
    const { status, body } = await post("completions", {
      model: "llama-2-13b",
      prompt: [
        [84, 105, 106, 33],
        [72, 106, 33, 34, 35],
      ],
      temperature: 0,
      max_tokens: 0,
      logprobs: 1,
      seed: 1234,
      echo: true,
    });
    expect(status).toBe(200);
    const choices = choicesOf(body);
    expect(choices).toHaveLength(2);
    for (const choice of choices) {
      expect(choice.logprobs!.token_logprobs[0]).toBeNull();
      expect(choice.logprobs!.token_logprobs.slice(1).every((v) => typeof v === "number")).toBe(true);
    }
  });

  it("generate_until, batched: stop sequences, a seed, max_tokens shared by the batch's choices", async () => {
    const request = {
      model: "llama-2-13b",
      prompt: [
        "Question: What is the capital of France?\nAnswer:",
        "Question: What is two plus two?\nAnswer:",
      ],
      max_tokens: 256,
      temperature: 0,
      stop: ["\n\n", "Question:"],
      seed: 1234,
    };
    const first = await post("completions", request);
    expect(first.status).toBe(200);
    const choices = choicesOf(first.body);
    expect(choices).toHaveLength(2);
    for (const choice of choices) {
      expect(choice.text).not.toContain("Question:");
      expect(["stop", "length"]).toContain(choice.finish_reason);
    }
    // Seeded and greedy: the same request gives the same answers (the harness caches on this).
    const again = await post("completions", request);
    expect(choicesOf(again.body).map((c) => c.text)).toEqual(choices.map((c) => c.text));
    const usage = first.body.usage as { completion_tokens: number };
    expect(usage.completion_tokens).toBeLessThanOrEqual(standard.limits.maxOutputTokens);
  });

  it("local-chat-completions: one conversation per request, stop list, seed", async () => {
    const { status, body } = await post("chat/completions", {
      messages: [{ role: "user", content: "Question: What is the capital of France?\nAnswer:" }],
      model: "llama-2-13b",
      max_tokens: 256,
      temperature: 0,
      stop: ["\n\n", "Question:"],
      seed: 1234,
    });
    expect(status).toBe(200);
    const choices = body.choices as { message: { role: string; content: string } }[];
    expect(choices).toHaveLength(1);
    expect(choices[0]?.message.role).toBe("assistant");
    expect(typeof choices[0]?.message.content).toBe("string");
  });

  it("holds each prompt of a batch to the tier's input limit, and prices the batch per prompt", async () => {
    const before = (await net.admin.admin.usage.byKey.query({ keyId: key.id })) as {
      requests: number;
      spentMicroUsd: number;
    };
    // Three prompts, each under the limit, together well over it: admitted.
    const batch = [words(60), words(60), words(60)];
    const admitted = await post("completions", {
      model: "llama-2-13b",
      prompt: batch,
      max_tokens: 1,
      logprobs: 1,
      echo: true,
      temperature: 0,
    });
    expect(admitted.status).toBe(200);
    expect(choicesOf(admitted.body)).toHaveLength(3);
    expect((admitted.body.usage as { prompt_tokens: number }).prompt_tokens).toBeGreaterThan(
      standard.limits.maxInputTokens,
    );
    // Priced as three calls.
    expect((await spentAfter(before.requests + 1)) - before.spentMicroUsd).toBe(3 * standard.priceMicroUsd);
    // One prompt over the limit: refused before any node works, naming the prompt.
    const refused = await post("completions", {
      model: "llama-2-13b",
      prompt: [words(10), words(300)],
      max_tokens: 1,
    });
    expect(refused.status).toBe(400);
    const error = refused.body.error as { code: string; message: string; param: string };
    expect(error.code).toBe("INPUT_TOO_LONG");
    expect(error.param).toBe("prompt");
    expect(error.message).toContain("prompt 1 of the batch");
  });

  it("blamed no node for any of it", async () => {
    expect(nodeBlame(await (await fetch(`${net.gateway.url}/metrics`)).text())).toEqual([]);
  });
});
