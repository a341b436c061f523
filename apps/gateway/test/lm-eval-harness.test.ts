import { DEFAULT_CATALOG, findService, findTier, isTextTier } from "@pocket-ai/protocol";
import { tinyModelInfo, tinyModelPath } from "@pocket-ai/tiny-model";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LiveNetwork, nodeBlame, startLiveNetwork } from "./support/live-network.js";
import { until } from "./support/until.js";

/**
 * The request shapes lm-evaluation-harness sends through its `local-completions` and
 * `local-chat-completions` models (plain HTTP POSTs with a bearer key), exactly as it builds them:
 * batched string prompts, token-id prompts, `max_tokens` 0 and 1 with `echo` and `logprobs` for
 * loglikelihood, `stop` lists and a seed for generation, one chat message per request. Sent over
 * real HTTP to a real gateway and real nodes; each answer is read the way the harness reads it.
 *
 * Twice: against nodes on the development backend, and against a node running a real neural
 * model, the project's tiny llama (`tooling/tiny-model`) in llama.cpp in-process (the `gguf`
 * backend), whose answers are also checked against what the model learned and what PyTorch
 * computed for it.
 */

interface Target {
  readonly name: string;
  readonly start: () => Promise<LiveNetwork>;
  /** The `system_fingerprint` of the engine that must answer. */
  readonly fingerprint: string;
  /**
   * Token-id prompts in the node's vocabulary; for a known model, the text they spell and the
   * logprobs PyTorch computed for every echoed token after the first.
   */
  readonly tokenPrompts: readonly {
    readonly ids: readonly number[];
    readonly text?: string;
    readonly logprobs?: readonly number[];
  }[];
  /** Words of each prompt of a three-prompt batch that is over the input limit as the node counts. */
  readonly batchWords: number;
  /** What the model must write, greedily, for a generation prompt (a real model's learned answer). */
  readonly generation?: { readonly prompt: string; readonly text: string };
  readonly chat?: { readonly content: string; readonly reply: string };
  /** A multiple-choice item the model knows: the right continuation must outscore the wrong one. */
  readonly choice?: { readonly context: string; readonly right: string; readonly wrong: string };
  /** Log-probabilities PyTorch computed for some texts, the first token's given `<s>` left out. */
  readonly reference?: readonly { readonly text: string; readonly logprobs: readonly number[] }[];
}

const tiny = tinyModelInfo("pocket-tiny");
const TARGETS: readonly Target[] = [
  {
    name: "nodes on the development backend",
    start: () => startLiveNetwork({ nodes: 2 }),
    fingerprint: "pocket-ai-dev",
    tokenPrompts: [{ ids: [84, 105, 106, 33] }, { ids: [72, 106, 33, 34, 35] }],
    batchWords: 60,
  },
  {
    name: "a node running the tiny llama model in llama.cpp (gguf)",
    start: () =>
      startLiveNetwork({
        backends: [
          {
            kind: "gguf",
            modelPath: tinyModelPath("pocket-tiny"),
            gpu: "off",
            // The tiny model needs one thread; more only contend on a busy test machine.
            threads: 1,
            maxConcurrency: 2,
            timeoutMs: 60_000,
          },
        ],
      }),
    fingerprint: "pocket-ai-gguf",
    // The model's own token ids (one per character), as the harness sends after tokenizing:
    // without `<s>` (the node puts it first) and with it (`add_bos_token`), scored the same.
    tokenPrompts: [
      {
        ids: tiny.reference[0]!.tokens.slice(1),
        text: tiny.reference[0]!.text,
        logprobs: tiny.reference[0]!.next_token_logprobs.slice(1),
      },
      {
        ids: tiny.reference[1]!.tokens,
        text: tiny.reference[1]!.text,
        logprobs: tiny.reference[1]!.next_token_logprobs,
      },
    ],
    // One token per character: 3 × ~140 characters is over the 200-token limit, each prompt under it.
    batchWords: 30,
    generation: { prompt: "Question: What is two times three?\nAnswer:", text: " six\n" },
    chat: { content: "What is the opposite of hot?", reply: "The opposite of hot is cold." },
    choice: { context: "Question: What is six plus four?\nAnswer:", right: " ten", wrong: " three" },
    reference: tiny.reference.map((r) => ({ text: r.text, logprobs: r.next_token_logprobs.slice(1) })),
  },
];

const standard = (() => {
  const tier = findTier(findService(DEFAULT_CATALOG, "llama-2-13b")!, "standard");
  if (tier === undefined || !isTextTier(tier)) throw new Error("the catalog has no standard text tier");
  return tier;
})();

interface Logprobs {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
  text_offset: number[];
}
interface Choice {
  index: number;
  text: string;
  finish_reason: string;
  logprobs: Logprobs | null;
}
const choicesOf = (body: Record<string, unknown>) =>
  [...(body.choices as Choice[])].sort((a, b) => a.index - b.index);

const words = (n: number) =>
  Array.from(
    { length: n },
    (_, i) => ["The", "quick", "brown", "fox", "jumps", "over", "a", "dog"][i % 8],
  ).join(" ");

/**
 * A loglikelihood answer read as the harness reads it: the continuation's tokens are those after
 * the context's `contextTokens` and before the one generated token (`[ctxlen:-1]`); its score is
 * their summed logprob, and it is greedy when each one's logprob is the best of its top_logprobs.
 */
function harnessLoglikelihood(choice: Choice, contextTokens: number) {
  const lp = choice.logprobs!;
  const logprobs = lp.token_logprobs.slice(contextTokens, -1) as number[];
  const tops = lp.top_logprobs.slice(contextTokens, -1) as Record<string, number>[];
  return {
    tokens: logprobs.length,
    logprob: logprobs.reduce((sum, v) => sum + v, 0),
    isGreedy: logprobs.every((value, i) => value === Math.max(...Object.values(tops[i]!))),
  };
}

describe.each(TARGETS)("lm-evaluation-harness request shapes, $name", (target) => {
  let net: LiveNetwork;
  let key: { id: string; secret: string };
  beforeAll(async () => {
    net = await target.start();
    const created = await net.newKey();
    key = { id: created.key.id, secret: created.secret };
  }, 60_000);
  afterAll(() => net?.close());

  async function post(path: string, body: unknown) {
    const response = await fetch(`${net.gateway.url}/v1/${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${key.secret}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

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

  /** The harness's loglikelihood request: context + continuation, one token, echo, logprobs 1. */
  const loglikelihood = (prompt: readonly string[] | readonly (readonly number[])[]) =>
    post("completions", {
      model: "llama-2-13b",
      prompt,
      temperature: 0,
      max_tokens: 1,
      logprobs: 1,
      seed: 1234,
      echo: true,
    });

  it("loglikelihood, batched string prompts: echo, logprobs, max_tokens 1, one choice per prompt", async () => {
    const prompts = [
      "The capital of France is Paris",
      "Two plus two is four",
      "The sky is blue",
      "Water is wet",
    ];
    const { status, body } = await loglikelihood(prompts);
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

  it("multiple choice: the greedy continuation is is_greedy and outscores an unlikely one", async () => {
    const context = "Question: What is six plus four?\nAnswer:";
    const generated = await post("completions", {
      model: "llama-2-13b",
      prompt: context,
      max_tokens: 6,
      temperature: 0,
      seed: 1234,
    });
    expect(generated.status).toBe(200);
    expect(generated.body.system_fingerprint).toBe(target.fingerprint);
    const greedy = choicesOf(generated.body)[0]!.text;
    expect(greedy.length).toBeGreaterThan(0);
    // The context alone, echoed: how many tokens the harness's `ctxlen` is.
    const scoredContext = await post("completions", {
      model: "llama-2-13b",
      prompt: context,
      max_tokens: 0,
      logprobs: 1,
      echo: true,
    });
    const contextTokens = choicesOf(scoredContext.body)[0]!.logprobs!.tokens.length;
    const { status, body } = await loglikelihood([context + greedy, `${context} zebra crossing`]);
    expect(status).toBe(200);
    const [likely, unlikely] = choicesOf(body).map((c) => harnessLoglikelihood(c, contextTokens));
    expect(likely!.tokens).toBeGreaterThan(0);
    expect(likely!.isGreedy).toBe(true);
    expect(unlikely!.isGreedy).toBe(false);
    expect(likely!.logprob).toBeGreaterThan(unlikely!.logprob);

    // A real model's multiple choice, scored as the harness scores it: the answer it learned wins.
    if (target.choice !== undefined) {
      const { context: question, right, wrong } = target.choice;
      const echoed = await post("completions", {
        model: "llama-2-13b",
        prompt: question,
        max_tokens: 0,
        logprobs: 1,
        echo: true,
      });
      const ctxlen = choicesOf(echoed.body)[0]!.logprobs!.tokens.length;
      const scored = await loglikelihood([question + right, question + wrong]);
      const [r, w] = choicesOf(scored.body).map((c) => harnessLoglikelihood(c, ctxlen));
      expect(r!.tokens).toBe(right.length);
      expect(r!.isGreedy).toBe(true);
      expect(r!.logprob).toBeGreaterThan(w!.logprob + 1);
    }
  });

  it("loglikelihood, token-id prompts with max_tokens 0: one echoed token per id sent", async () => {
    const { status, body } = await post("completions", {
      model: "llama-2-13b",
      prompt: target.tokenPrompts.map((p) => p.ids),
      temperature: 0,
      max_tokens: 0,
      logprobs: 1,
      seed: 1234,
      echo: true,
    });
    expect(status).toBe(200);
    const choices = choicesOf(body);
    expect(choices).toHaveLength(target.tokenPrompts.length);
    for (const [i, choice] of choices.entries()) {
      const lp = choice.logprobs!;
      // The harness slices the echo by its own token count: the echo must be the ids sent, no more.
      expect(lp.tokens).toHaveLength(target.tokenPrompts[i]!.ids.length);
      expect(lp.token_logprobs[0]).toBeNull();
      expect(lp.token_logprobs.slice(1).every((v) => typeof v === "number")).toBe(true);
      const { text, logprobs } = target.tokenPrompts[i]!;
      if (text !== undefined) expect(choice.text).toBe(text);
      for (const [j, value] of (logprobs ?? []).entries())
        expect(lp.token_logprobs[j + 1]).toBeCloseTo(value, 2);
    }
  });

  const reference = target.reference;
  // A model whose weights are known: its scores are checked against PyTorch's.
  if (reference !== undefined)
    it("scores a text as PyTorch did for the same weights, through gateway and node", async () => {
      const { status, body } = await post("completions", {
        model: "llama-2-13b",
        prompt: reference.map((r) => r.text),
        temperature: 0,
        max_tokens: 0,
        logprobs: 1,
        echo: true,
      });
      expect(status).toBe(200);
      for (const [i, choice] of choicesOf(body).entries()) {
        const scored = choice.logprobs!.token_logprobs.slice(1) as number[];
        expect(scored).toHaveLength(reference[i]!.logprobs.length);
        for (const [j, value] of scored.entries()) expect(value).toBeCloseTo(reference[i]!.logprobs[j]!, 2);
      }
    });

  it("generate_until, batched: stop sequences, a seed, max_tokens shared by the batch's choices", async () => {
    const request = {
      model: "llama-2-13b",
      prompt: [
        target.generation?.prompt ?? "Question: What is the capital of France?\nAnswer:",
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
    if (target.generation !== undefined) {
      // What the model learned, cut at the stop sequence the harness sent.
      expect(choices[0]!.text).toBe(target.generation.text);
      expect(choices[0]!.finish_reason).toBe("stop");
    }
    // Seeded and greedy: the same request gives the same answers (the harness caches on this).
    const again = await post("completions", request);
    expect(choicesOf(again.body).map((c) => c.text)).toEqual(choices.map((c) => c.text));
    const usage = first.body.usage as { completion_tokens: number };
    expect(usage.completion_tokens).toBeLessThanOrEqual(standard.limits.maxOutputTokens);
  });

  it("generate_until, sampled: a seed reproduces a sampled completion", async () => {
    const request = {
      model: "llama-2-13b",
      prompt: ["Every spring", "Once upon a time"],
      max_tokens: 32,
      temperature: 1,
      stop: ["\n\n"],
      seed: 42,
    };
    const [first, again] = [await post("completions", request), await post("completions", request)];
    expect(first.status).toBe(200);
    expect(choicesOf(again.body).map((c) => c.text)).toEqual(choicesOf(first.body).map((c) => c.text));
  });

  it("local-chat-completions: one conversation per request, stop list, seed", async () => {
    const { status, body } = await post("chat/completions", {
      messages: [
        {
          role: "user",
          content: target.chat?.content ?? "Question: What is the capital of France?\nAnswer:",
        },
      ],
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
    if (target.chat !== undefined) expect(choices[0]?.message.content.trim()).toBe(target.chat.reply);
  });

  it("holds each prompt of a batch to the tier's input limit, and prices the batch per prompt", async () => {
    const byKey = async () =>
      (await net.admin.admin.usage.byKey.query({ keyId: key.id })) as {
        requests: number;
        spentMicroUsd: number;
        tokens: number;
      };
    const before = await byKey();
    // Three prompts, each under the limit, together well over it: admitted.
    const batch = [words(target.batchWords), words(target.batchWords), words(target.batchWords)];
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
    // Priced as three calls.
    expect((await spentAfter(before.requests + 1)) - before.spentMicroUsd).toBe(3 * standard.priceMicroUsd);
    // The usage is what the key was counted: every prompt's tokens by the service's tokenizer (an
    // engine may count otherwise: the tiny model's, one token per character, counts more).
    const usage = admitted.body.usage as { prompt_tokens: number; total_tokens: number };
    expect(usage.prompt_tokens).toBeGreaterThan(2 * target.batchWords);
    expect(usage.total_tokens).toBe((await byKey()).tokens - before.tokens);
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
