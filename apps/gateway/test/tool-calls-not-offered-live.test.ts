import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningGateway } from "../src/app/gateway-app.js";
import { type LiarsGateway, startLiarsGateway } from "./support/liars-gateway.js";
import { seriesValue } from "./support/live-network.js";
import type { Lie, LyingNode } from "./support/lying-node.js";
import { weatherTool } from "./support/test-requests.js";

/**
 * A real gateway in front of an honest node and a node that lies with its valid key, driven by the
 * official `openai` client: a tool call (or `finish_reason: "tool_calls"`) in an answer to a chat
 * that offered no tools, or set `tool_choice: "none"`, is the node's invention. It is refused
 * (`TOOL_CALLS_NOT_OFFERED`, counted, the node sanctioned): the client gets the honest node's
 * answer, or, for a stream cut after its first bytes, `STREAM_INTERRUPTED`. Where the request
 * offered tools, the call reaches the client.
 */

let net: LiarsGateway;
let gateway: RunningGateway;
let admin: LiarsGateway["admin"];
let openai: OpenAI;
let liar: LyingNode;

beforeAll(async () => {
  net = await startLiarsGateway("tool-calls-not-offered", { retry: { maxAttempts: 3 } });
  ({ gateway, admin } = net);
  openai = new OpenAI({ apiKey: net.secret, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
  await net.addNode();
  liar = await net.addNode();
}, 120_000);

afterAll(() => net?.close());

const messages = [{ role: "user" as const, content: "Tell me about the lighthouse" }];

/** What the client got: the tool calls and finish reasons it saw, its text, or the error's code. */
interface Outcome {
  readonly toolCalls: number;
  readonly finishes: (string | null)[];
  readonly text: string;
  readonly error?: string;
}

const failed = (error: unknown): Outcome => ({
  toolCalls: 0,
  finishes: [],
  text: "",
  error: (error as { code?: string }).code ?? "(none)",
});

/**
 * Calls until the liar has answered one relay (the selector picks between it and the honest
 * node); returns what the client got for that call. The lie ends with it.
 */
async function whenLiarAnswers(lie: Lie, call: () => Promise<Outcome>): Promise<Outcome> {
  await admin.admin.nodes.unsanction.mutate({ address: liar.address });
  liar.lie = lie;
  try {
    for (let i = 0; i < 200; i++) {
      const before = liar.relays;
      const outcome = await call();
      if (liar.relays > before) return outcome;
    }
    throw new Error("the liar was never picked");
  } finally {
    liar.lie = "honest";
  }
}

async function unary(body: Record<string, unknown> = {}): Promise<Outcome> {
  try {
    const answer = await openai.chat.completions.create({
      model: "llama-2-13b",
      messages,
      max_tokens: 20,
      ...body,
    });
    return {
      toolCalls: answer.choices.reduce((sum, c) => sum + (c.message.tool_calls?.length ?? 0), 0),
      finishes: answer.choices.map((c) => c.finish_reason),
      text: answer.choices.map((c) => c.message.content ?? "").join(""),
    };
  } catch (error) {
    return failed(error);
  }
}

async function streamed(): Promise<Outcome> {
  let toolCalls = 0;
  let text = "";
  const finishes: (string | null)[] = [];
  try {
    const stream = await openai.chat.completions.create({
      model: "llama-2-13b",
      messages,
      max_tokens: 20,
      stream: true,
    });
    for await (const chunk of stream)
      for (const choice of chunk.choices) {
        toolCalls += choice.delta.tool_calls?.length ?? 0;
        text += choice.delta.content ?? "";
        if (choice.finish_reason !== null) finishes.push(choice.finish_reason);
      }
    return { toolCalls, finishes, text };
  } catch (error) {
    return { ...failed(error), toolCalls, text };
  }
}

const refused = () =>
  seriesValue(
    gateway.url,
    `pocket_gateway_node_refused_answers_total{node="${liar.address}",reason="TOOL_CALLS_NOT_OFFERED"}`,
  );

const sanction = async () =>
  ((await admin.admin.nodes.get.query({ address: liar.address })) as { stats: { sanctionReason?: string } })
    .stats.sanctionReason;

/** An answer the honest node gave: text, no tool call, no `tool_calls` finish. */
const honest = {
  toolCalls: 0,
  finishes: [expect.stringMatching(/^(stop|length)$/)],
  text: expect.stringMatching(/\S/),
};

describe("tool calls a chat never offered", () => {
  it("unary: a made-up call or tool_calls finish is refused, and the honest node answers", async () => {
    expect(await refused()).toBe(0);
    expect(await whenLiarAnswers("one-tool-call", () => unary())).toEqual(honest);
    expect(await refused()).toBe(1);
    expect(await sanction()).toBeDefined();
    expect(await whenLiarAnswers("tool-calls-finish", () => unary())).toEqual(honest);
    expect(await refused()).toBe(2);
    // tool_choice "none" on a node that declares it obeys tool_choice: no call may come.
    const none = { tools: [weatherTool], tool_choice: "none" as const };
    expect(await whenLiarAnswers("one-tool-call", () => unary(none))).toEqual(honest);
    expect(await refused()).toBe(3);
  }, 180_000);

  it("streams: a call before any byte is retried elsewhere; one after cuts the stream", async () => {
    const before = await refused();
    expect(await whenLiarAnswers("tool-call-first", streamed)).toEqual(honest);
    expect(await refused()).toBe(before + 1);
    const cut = await whenLiarAnswers("one-tool-call", streamed);
    expect(cut).toMatchObject({ toolCalls: 0, error: "STREAM_INTERRUPTED" });
    expect(await refused()).toBe(before + 2);
    expect(await whenLiarAnswers("tool-calls-finish", streamed)).toMatchObject({
      finishes: [],
      error: "STREAM_INTERRUPTED",
    });
    expect(await refused()).toBe(before + 3);
  }, 180_000);

  it("/v1/responses: a made-up call never becomes a function_call item", async () => {
    const before = await refused();
    const outcome = await whenLiarAnswers("one-tool-call", async () => {
      const response = await openai.responses.create({
        model: "llama-2-13b",
        input: "hi",
        max_output_tokens: 20,
      });
      return { toolCalls: 0, finishes: [], text: response.output.map((item) => item.type).join(",") };
    });
    expect(outcome.text).toBe("message");
    expect(await refused()).toBe(before + 1);
  }, 180_000);

  it("a call where the request offered tools reaches the client", async () => {
    const before = await refused();
    const outcome = await whenLiarAnswers("one-tool-call", () => unary({ tools: [weatherTool] }));
    expect(outcome).toMatchObject({ toolCalls: 1 });
    expect(await refused()).toBe(before);
  }, 180_000);
});
