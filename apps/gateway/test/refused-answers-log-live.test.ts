import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningGateway } from "../src/app/gateway-app.js";
import { type LiarsGateway, startLiarsGateway } from "./support/liars-gateway.js";
import { seriesValue } from "./support/live-network.js";
import { type Lie, type LyingNode, NODE_WORDS } from "./support/lying-node.js";

/**
 * A real gateway in front of an honest node and a node that lies with its valid key, driven by the
 * official `openai` client: each answer the gateway refuses, and each stream it cuts, is one
 * warning in its log (node, service, reason code, the gateway's own detail, request id; no prompt,
 * no output, no text of the node's) and one count in `pocket_gateway_node_refused_answers_total`;
 * the same node and reason again within the window is counted, not logged.
 */

const PROMPT = "Tell me a story about the private lighthouse";

let net: LiarsGateway;
let gateway: RunningGateway;
let admin: LiarsGateway["admin"];
let secret: string;
let liar: LyingNode;
let lines: string[];

beforeAll(async () => {
  // The longest window: a second refusal of the same node and reason is never a new line here.
  net = await startLiarsGateway("refused-test", {
    retry: { maxAttempts: 3 },
    refusedAnswersLogMs: 86_400_000,
  });
  ({ gateway, admin, secret, lines } = net);
  await net.addNode();
  liar = await net.addNode();
}, 120_000);

afterAll(() => net?.close());

/** Calls until the liar has answered one relay (the selector picks between it and the honest node). */
async function untilLiarAnswers(lie: Lie, stream: boolean, requestId: string): Promise<void> {
  await admin.admin.nodes.unsanction.mutate({ address: liar.address });
  liar.lie = lie;
  const openai = new OpenAI({
    apiKey: secret,
    baseURL: `${gateway.url}/v1`,
    maxRetries: 0,
    defaultHeaders: { "x-request-id": requestId },
  });
  const before = liar.relays;
  const request = {
    model: "llama-2-13b",
    messages: [{ role: "user" as const, content: PROMPT }],
    max_tokens: 20,
  };
  for (let i = 0; i < 200 && liar.relays === before; i++) {
    try {
      if (!stream) await openai.chat.completions.create(request);
      else for await (const _ of await openai.chat.completions.create({ ...request, stream: true }));
    } catch {
      // A stream cut mid-way ends in an error event: what is checked here is the log.
    }
  }
  liar.lie = "honest";
  expect(liar.relays).toBeGreaterThan(before);
}

const refusedLines = () =>
  lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((l) => l.reason !== undefined);

const count = (reason: string) =>
  seriesValue(
    gateway.url,
    `pocket_gateway_node_refused_answers_total{node="${liar.address}",reason="${reason}"}`,
  );

describe("the operator's record of refused node answers", () => {
  it("logs a refused answer once, with its reason and none of the node's text, and counts each", async () => {
    await untilLiarAnswers("envelope-words", false, "refused-unary-1");
    const [line] = refusedLines();
    expect(line).toEqual({
      t: expect.any(String),
      level: "warn",
      app: "gateway-refused-test",
      msg: "node answer refused: it failed the gateway's checks",
      node: liar.address,
      service: "llama-2-13b",
      tier: "standard",
      reason: "BAD_ENVELOPE",
      detail: "relay response: does not match the protocol's schema",
      requestId: "refused-unary-1",
    });
    expect(await count("BAD_ENVELOPE")).toBe(1);
    // Nothing of the node's, the prompt's or the answer's anywhere: log, admin page, client.
    expect(lines.join("\n")).not.toContain(NODE_WORDS.slice(0, 10));
    expect(lines.join("\n")).not.toContain("lighthouse");
    const stats = (await admin.admin.nodes.get.query({ address: liar.address })) as {
      stats: { sanctionReason?: string };
    };
    expect(stats.stats.sanctionReason).toBe(
      "BAD_ENVELOPE: relay response: does not match the protocol's schema",
    );

    // The same node and reason again: counted, not logged.
    await untilLiarAnswers("envelope-words", false, "refused-unary-2");
    expect(refusedLines()).toHaveLength(1);
    expect(await count("BAD_ENVELOPE")).toBe(2);
  }, 300_000);

  it("logs a stream cut for a chunk that failed the gateway's checks", async () => {
    await untilLiarAnswers("off-schema", true, "refused-stream-1");
    const cut = refusedLines().filter((l) => l.reason === "SCHEMA");
    expect(cut).toEqual([
      {
        t: expect.any(String),
        level: "warn",
        app: "gateway-refused-test",
        msg: "node stream cut: a chunk failed the gateway's checks",
        node: liar.address,
        service: "llama-2-13b",
        tier: "standard",
        reason: "SCHEMA",
        detail: "chunk off-schema at id (invalid_type, expected string)",
        requestId: "refused-stream-1",
      },
    ]);
    expect(await count("SCHEMA")).toBe(1);
    expect(lines.join("\n")).not.toContain("lighthouse");
  }, 300_000);
});
