import { DEFAULT_CATALOG, ORGANIC_MAX_CHARS, OrganicSample, resolveModelName } from "@pocket-ai/protocol";
import { describe, expect, it } from "vitest";
import type { DispatchRequest, DispatchStreamEvent, RelayRecord } from "../relay/dispatcher.js";
import { OrganicSampler } from "./organic-sampler.js";

const target = resolveModelName(DEFAULT_CATALOG, "llama-2-13b");
if (!target.ok) throw new Error("catalog");
const request = (app: string, body: Record<string, unknown> = {}): DispatchRequest => ({
  application: { id: app, address: "pokt1app" },
  keyId: "key",
  target: target.value,
  operation: "completions",
  body: { model: "llama-2-13b", prompt: "Hello", max_tokens: 8, ...body },
});
const payload = { choices: [{ text: " world" }] };
const served = { nodeAddress: "pokt1node", servedServiceId: "llama-2-13b" };
const settings = { share: 1, optOut: ["app_quiet"], heldMs: 1_000, maxHeld: 3 };

describe("organic sampler", () => {
  it("skips opted-out applications, echo requests and pinned probes; forgets after heldMs", () => {
    const sampler = new OrganicSampler(settings);
    sampler.offer(request("app_quiet"), payload, served, 0);
    // Opted out in the portal: the application's keys carry it.
    sampler.offer(
      { ...request("app_b"), application: { id: "app_b", address: "pokt1b", organicChecks: false } },
      payload,
      served,
      0,
    );
    sampler.offer(request("app_a", { echo: true, logprobs: 1 }), payload, served, 0);
    sampler.offer({ ...request("app_a"), targetNode: "pokt1node" }, payload, served, 0);
    expect(sampler.take("pokt1node", 10, 0)).toEqual([]);
    sampler.offer(request("app_a"), payload, served, 0);
    expect(sampler.take("pokt1node", 10, 2_000)).toEqual([]);
  });

  it("samples its share and keeps at most maxHeld", () => {
    let i = 0;
    const draws = [0.5, 0.01, 0.9, 0.019];
    const sampler = new OrganicSampler({ ...settings, share: 0.02 }, () => draws[i++ % draws.length]!);
    for (let k = 0; k < 4; k++) sampler.offer(request("app_a"), payload, served, 0);
    expect(sampler.take("pokt1node", 10, 0)).toHaveLength(2);
    const all = new OrganicSampler(settings);
    for (let k = 0; k < 5; k++) all.offer(request("app_a"), payload, served, 0);
    expect(all.take("pokt1node", 10, 0)).toHaveLength(3);
  });

  it("samples unary chats of plain-text messages, with the customer's parameters", () => {
    const sampler = new OrganicSampler(settings);
    const messages = [
      { role: "system", content: "Be brief." },
      { role: "user", content: "Name a river." },
    ];
    const reply = (content: string, extra: Record<string, unknown> = {}) => ({
      choices: [{ index: 0, message: { role: "assistant", content, ...extra }, finish_reason: "stop" }],
    });
    sampler.offer(
      chat("app_a", { messages, temperature: 0.7, max_tokens: 64, max_completion_tokens: 32 }),
      reply("The Nile."),
      served,
      0,
    );
    // Not sampled: tools, a tool call in the reply, JSON mode, n = 2, named or tool messages.
    sampler.offer(chat("app_a", { messages, tools: [{ type: "function" }] }), reply("x"), served, 0);
    sampler.offer(chat("app_a", { messages }), reply("", { tool_calls: [{ id: "c" }] }), served, 0);
    sampler.offer(
      chat("app_a", { messages, response_format: { type: "json_object" } }),
      reply("{}"),
      served,
      0,
    );
    sampler.offer(chat("app_a", { messages, n: 2 }), reply("x"), served, 0);
    sampler.offer(
      chat("app_a", { messages: [{ role: "user", content: "Hi", name: "ann" }] }),
      reply("x"),
      served,
      0,
    );
    sampler.offer(
      chat("app_a", { messages: [...messages, { role: "tool", content: "42", tool_call_id: "c" }] }),
      reply("x"),
      served,
      0,
    );
    sampler.offer(
      chat("app_a", { messages: [{ role: "user", content: [{ type: "text", text: "Hi" }] }] }),
      reply("x"),
      served,
      0,
    );
    // Older evaluators read completions samples only: chats wait for a caller that asks for them.
    expect(sampler.take("pokt1node", 10, 0)).toEqual([]);
    const taken = sampler.take("pokt1node", 10, 0, ["completions", "chat"]);
    expect(taken).toEqual([
      {
        kind: "chat",
        nodeAddress: "pokt1node",
        serviceId: "llama-2-13b",
        messages,
        output: "The Nile.",
        params: { temperature: 0.7, max_tokens: 32 },
        stream: false,
      },
    ]);
    expect(OrganicSample.safeParse(taken[0]).success).toBe(true);
  });

  it("samples a streamed chat at its start and holds the delivered text once it ended normally", () => {
    const sampler = new OrganicSampler(settings);
    const pass = sampler.watch(
      chat("app_a", { messages: [{ role: "user", content: "Hi" }], seed: 3 }),
      () => 5,
    );
    if (pass === undefined) throw new Error("a share of 1 samples every eligible stream");
    for (const event of chatStream(["Hel", "lo", " there"], "stop")) expect(pass(event)).toBe(event);
    expect(sampler.take("pokt1node", 10, 5, ["chat"])).toEqual([
      {
        kind: "chat",
        nodeAddress: "pokt1node",
        serviceId: "llama-2-13b",
        messages: [{ role: "user", content: "Hi" }],
        output: "Hello there",
        params: { seed: 3, max_tokens: 8 },
        stream: true,
      },
    ]);
  });

  it("samples a streamed completion; never a broken or cut stream", () => {
    const sampler = new OrganicSampler(settings);
    const completion = sampler.watch(request("app_a", { temperature: 0.2 }), () => 0);
    for (const event of completionStream([" wor", "ld"], "length")) completion?.(event);
    const take = () => sampler.take("pokt1node", 10, 0, ["completions", "chat"]);
    expect(take()).toMatchObject([{ kind: "completions", prompt: "Hello", output: " world", stream: true }]);

    const runs: DispatchStreamEvent[][] = [
      // The node failed mid-way: an error final, whatever came before.
      [...completionStream([" a", " b"], "stop").slice(0, 2), final("error")],
    ];
    for (const events of runs) {
      const pass = sampler.watch(request("app_a"), () => 0);
      for (const event of events) pass?.(event);
    }
    expect(take()).toEqual([]);
  });

  it("holds what the customer received whatever finish reason the node chose, so a node cannot opt out of checks", () => {
    // The finish reason is the node's word: one that ends its customers' answers with
    // `content_filter`, `tool_calls` without a call, or no reason at all must still be checked.
    const sampler = new OrganicSampler({ ...settings, maxHeld: 10 });
    for (const finish of [null, "content_filter", "tool_calls"]) {
      const pass = sampler.watch(request("app_a"), () => 0);
      for (const event of completionStream([" a"], finish)) pass?.(event);
    }
    const chatPass = sampler.watch(chat("app_a", { messages: [{ role: "user", content: "Hi" }] }), () => 0);
    for (const event of chatStream(["Hel", "lo"], null)) chatPass?.(event);
    const take = () => sampler.take("pokt1node", 10, 0, ["completions", "chat"]);
    expect(take().map((s) => [s.kind, s.output, s.stream])).toEqual([
      ["completions", " a", true],
      ["completions", " a", true],
      ["completions", " a", true],
      ["chat", "Hello", true],
    ]);
    for (const finish_reason of ["content_filter", "tool_calls"]) {
      sampler.offer(request("app_a"), { choices: [{ index: 0, text: " b", finish_reason }] }, served, 0);
      sampler.offer(
        chat("app_a", { messages: [{ role: "user", content: "Hi" }] }),
        { choices: [{ index: 0, message: { role: "assistant", content: "Hey" }, finish_reason }] },
        served,
        0,
      );
    }
    expect(take().map((s) => [s.kind, s.output, s.stream])).toEqual([
      ["completions", " b", false],
      ["chat", "Hey", false],
      ["completions", " b", false],
      ["chat", "Hey", false],
    ]);
  });

  it("holds a chat's text when the node added a tool call the request never offered", () => {
    // Sampled chats name no tools: a tool call in the reply is the node's invention, and one added
    // to every customer's reply must not keep them all from a check.
    const sampler = new OrganicSampler({ ...settings, maxHeld: 10 });
    const messages = [{ role: "user", content: "Hi" }];
    const call = { index: 0, id: "c", type: "function", function: { name: "f", arguments: "{}" } };
    sampler.offer(
      chat("app_a", { messages }),
      {
        choices: [
          {
            index: 0,
            message: { role: "assistant", content: "Hey", tool_calls: [call] },
            finish_reason: "stop",
          },
        ],
      },
      served,
      0,
    );
    const pass = sampler.watch(chat("app_a", { messages }), () => 0);
    for (const event of [
      data({ choices: [{ index: 0, delta: { content: "Hel", tool_calls: [call] }, finish_reason: null }] }),
      ...chatStream(["lo"], "stop"),
    ])
      pass?.(event);
    expect(sampler.take("pokt1node", 10, 0, ["chat"]).map((s) => [s.output, s.stream])).toEqual([
      ["Hey", false],
      ["Hello", true],
    ]);
  });

  it("hands out a node's samples of one service only when asked for it, leaving its other services' for their own checks", () => {
    // A node serving two models is evaluated once per service, each against that service's
    // reference: another service's answers would gap against it like a weaker model's.
    const sampler = new OrganicSampler({ ...settings, maxHeld: 10 });
    sampler.offer(request("app_a", { prompt: "One" }), payload, served, 0);
    sampler.offer(
      request("app_a", { prompt: "Two" }),
      payload,
      { ...served, servedServiceId: "mistral-7b" },
      0,
    );
    sampler.offer(request("app_a", { prompt: "Three" }), payload, served, 0);
    const prompts = (taken: OrganicSample[]) => taken.map((s) => (s.kind === "chat" ? "" : s.prompt));
    expect(prompts(sampler.take("pokt1node", 10, 0, ["completions"], "mistral-7b"))).toEqual(["Two"]);
    expect(prompts(sampler.take("pokt1node", 10, 0, ["completions"], "llama-2-13b"))).toEqual([
      "One",
      "Three",
    ]);
    expect(sampler.take("pokt1node", 10, 0)).toEqual([]);
  });

  it("makes room by dropping the busiest node's oldest sample, so one node's traffic cannot crowd out a quiet node's", () => {
    const sampler = new OrganicSampler({ ...settings, maxHeld: 4 });
    const quiet = { ...served, nodeAddress: "pokt1quiet" };
    sampler.offer(request("app_a", { prompt: "Quiet" }), payload, quiet, 0);
    for (let k = 0; k < 10; k++) sampler.offer(request("app_a", { prompt: `Busy ${k}` }), payload, served, 0);
    const prompts = (taken: OrganicSample[]) => taken.map((s) => (s.kind === "chat" ? "" : s.prompt));
    expect(prompts(sampler.take("pokt1quiet", 10, 0))).toEqual(["Quiet"]);
    // The busy node keeps its newest, within the bound.
    expect(prompts(sampler.take("pokt1node", 10, 0))).toEqual(["Busy 7", "Busy 8", "Busy 9"]);
  });

  it("never watches an unsampled stream: not drawn, opted out, pinned, n > 1, echo", () => {
    const draws = new OrganicSampler({ ...settings, share: 0.02 }, () => 0.5);
    expect(
      draws.watch(chat("app_a", { messages: [{ role: "user", content: "Hi" }] }), () => 0),
    ).toBeUndefined();
    const sampler = new OrganicSampler(settings);
    const messages = [{ role: "user", content: "Hi" }];
    expect(sampler.watch(chat("app_quiet", { messages }), () => 0)).toBeUndefined();
    expect(
      sampler.watch(
        {
          ...chat("app_b", { messages }),
          application: { id: "app_b", address: "pokt1b", organicChecks: false },
        },
        () => 0,
      ),
    ).toBeUndefined();
    expect(
      sampler.watch({ ...chat("app_a", { messages }), targetNode: "pokt1node" }, () => 0),
    ).toBeUndefined();
    expect(sampler.watch(chat("app_a", { messages, n: 2 }), () => 0)).toBeUndefined();
    expect(sampler.watch(request("app_a", { n: 3 }), () => 0)).toBeUndefined();
    expect(sampler.watch(request("app_a", { echo: true }), () => 0)).toBeUndefined();
    expect(sampler.watch(request("app_a", { prompt: ["a", "b"] }), () => 0)).toBeUndefined();
  });

  it("drops a streamed sample as soon as its text passes the bound", () => {
    const sampler = new OrganicSampler(settings);
    const piece = "x".repeat(1_000);
    const long = Array.from({ length: Math.ceil(ORGANIC_MAX_CHARS / piece.length) + 1 }, () => piece);
    const pass = sampler.watch(request("app_a"), () => 0);
    for (const event of completionStream(long, "length")) pass?.(event);
    const fits = sampler.watch(request("app_a"), () => 0);
    for (const event of completionStream(long.slice(0, 16), "length")) fits?.(event);
    const taken = sampler.take("pokt1node", 10, 0);
    expect(taken.map((s) => s.output.length)).toEqual([16_000]);
    // A unary answer past the bound is not held either.
    sampler.offer(request("app_a"), { choices: [{ text: "x".repeat(ORGANIC_MAX_CHARS + 1) }] }, served, 0);
    expect(sampler.take("pokt1node", 10, 0)).toEqual([]);
  });
});

function chat(app: string, body: Record<string, unknown>): DispatchRequest {
  const { prompt: _, ...rest } = request(app, body).body;
  return { ...request(app), operation: "chat.completions", body: rest };
}

const record: RelayRecord = {
  requestHash: "00",
  nodeAddress: "pokt1node",
  servedServiceId: "llama-2-13b",
  servedTierId: "standard",
  sessionId: "s",
  sessionNumber: 1,
  leafHash: "00",
  computeUnits: 1,
  usage: { inputTokens: 1, outputTokens: 1 },
  attempts: 1,
};

let seq = 0;
const data = (payload: Record<string, unknown>): DispatchStreamEvent => ({
  type: "data",
  data: payload,
  seq: seq++,
  verified: seq,
  chain: "0".repeat(64),
});
const final = (outcome: "ok" | "error"): DispatchStreamEvent => ({
  type: "final",
  verified: seq,
  outcome,
  ...(outcome === "error" ? { error: { code: "STREAM_INTERRUPTED" as const, message: "cut" } } : {}),
  record,
  ttftMs: 1,
});

/** A chat stream as the dispatcher yields it: a role delta, content deltas, the finish, usage, final. */
function chatStream(pieces: readonly string[], finish: string | null): DispatchStreamEvent[] {
  return [
    data({ choices: [{ index: 0, delta: { role: "assistant" }, finish_reason: null }] }),
    ...pieces.map((content) => data({ choices: [{ index: 0, delta: { content }, finish_reason: null }] })),
    data({ choices: [{ index: 0, delta: {}, finish_reason: finish }] }),
    data({ choices: [], usage: { prompt_tokens: 1, completion_tokens: pieces.length } }),
    final("ok"),
  ];
}

function completionStream(pieces: readonly string[], finish: string | null): DispatchStreamEvent[] {
  return [
    ...pieces.map((text) => data({ choices: [{ index: 0, text, finish_reason: null }] })),
    data({ choices: [{ index: 0, text: "", finish_reason: finish }] }),
    final("ok"),
  ];
}
