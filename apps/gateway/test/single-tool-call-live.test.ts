import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningGateway } from "../src/app/gateway-app.js";
import { type LiarsGateway, startLiarsGateway } from "./support/liars-gateway.js";
import { seriesValue } from "./support/live-network.js";
import type { Lie, LyingNode } from "./support/lying-node.js";
import { weatherTool } from "./support/test-requests.js";

/**
 * A real gateway in front of a node whose answers call tools, driven by the official `openai`
 * client: with `parallel_tool_calls: false`, an answer or stream that makes a second tool call in
 * a choice is refused (`TOOL_CALLS`), as OpenAI's API never answers so; one tool call, or several
 * where the client allowed them, reach the client whole.
 */

let net: LiarsGateway;
let gateway: RunningGateway;
let admin: LiarsGateway["admin"];
let openai: OpenAI;
let node: LyingNode;
let lines: string[];

beforeAll(async () => {
  net = await startLiarsGateway("tool-calls-test", { retry: { maxAttempts: 1 } });
  ({ gateway, admin, lines } = net);
  openai = new OpenAI({ apiKey: net.secret, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
  node = await net.addNode();
}, 120_000);

afterAll(() => net?.close());

const request = (parallel: boolean | undefined) => ({
  model: "llama-2-13b",
  messages: [{ role: "user" as const, content: "What is the weather in two cities?" }],
  tools: [weatherTool],
  max_tokens: 20,
  ...(parallel === undefined ? {} : { parallel_tool_calls: parallel }),
});

/** The tool calls the client got in the first choice, or the error's code when it got none. */
async function unary(lie: Lie, parallel: boolean | undefined): Promise<number | string> {
  await admin.admin.nodes.unsanction.mutate({ address: node.address });
  node.lie = lie;
  try {
    const answer = await openai.chat.completions.create(request(parallel));
    return answer.choices[0]?.message.tool_calls?.length ?? 0;
  } catch (error) {
    return (error as { code?: string }).code ?? "(none)";
  }
}

/** The distinct tool-call indexes the client got in a stream, or the error's code when it broke. */
async function streamed(lie: Lie, parallel: boolean | undefined): Promise<number | string> {
  await admin.admin.nodes.unsanction.mutate({ address: node.address });
  node.lie = lie;
  const indexes = new Set<number>();
  try {
    const stream = await openai.chat.completions.create({ ...request(parallel), stream: true });
    for await (const chunk of stream)
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) indexes.add(call.index);
    return indexes.size;
  } catch (error) {
    return (error as { code?: string }).code ?? "(none)";
  }
}

const refusals = () =>
  lines
    .map((line) => JSON.parse(line) as { reason?: string; msg?: string })
    .filter((l) => l.reason === "TOOL_CALLS");

/** Every refusal is counted (the log holds back a node's repeats of one reason). */
const refused = () =>
  seriesValue(
    gateway.url,
    `pocket_gateway_node_refused_answers_total{node="${node.address}",reason="TOOL_CALLS"}`,
  );

describe("parallel_tool_calls: false holds against the node's answer", () => {
  it("unary: a second tool call is refused; one, or several where allowed, pass", async () => {
    expect(await unary("two-tool-calls", undefined)).toBe(2);
    expect(await unary("two-tool-calls", true)).toBe(2);
    expect(await unary("one-tool-call", false)).toBe(1);
    expect(refusals()).toHaveLength(0);
    expect(await unary("two-tool-calls", false)).toBe("INVALID_NODE_RESPONSE");
    expect(await refused()).toBe(1);
    expect(refusals()).toEqual([
      expect.objectContaining({
        msg: "node answer refused: it failed the gateway's checks",
        detail: "choice 0 makes 2 tool calls; the request set parallel_tool_calls: false (at most one)",
      }),
    ]);
  }, 120_000);

  it("streams: a second tool-call index cuts the stream; one call over several deltas passes", async () => {
    const before = await refused();
    expect(await streamed("two-tool-calls", undefined)).toBe(2);
    expect(await streamed("one-tool-call", false)).toBe(1);
    expect(await refused()).toBe(before);
    expect(await streamed("two-tool-calls", false)).toBe("STREAM_INTERRUPTED");
    expect(await refused()).toBe(before + 1);
  }, 120_000);
});
