import { stalledUpload } from "@pocket-ai/runtime/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NodeHarness, startTestNode, TestGateway } from "./helpers/node-harness.js";

// What a stranger can make a node hold before any signature is checked: bodies sent up to just
// short of their end, on many connections.
const BUDGET = 1024 * 1024;
const TIMEOUT_MS = 1_500;
const gw = new TestGateway();
let h: NodeHarness;
beforeAll(async () => {
  h = await startTestNode({ requests: { timeoutMs: TIMEOUT_MS, bodyBudgetBytes: BUDGET } });
});
afterAll(async () => {
  await h?.stop();
});

/** The node's count of body bytes it holds unverified, as `/metrics` shows it. */
async function heldBytes(): Promise<number> {
  const text = await (await fetch(`${h.node.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("pocket_node_unverified_body_bytes"));
  return Number(line?.split(" ").at(-1) ?? Number.NaN);
}

/** A connection that declares `declared` bytes of a relay body, sends `sent` of them and stalls. */
const stalledRelay = (declared: number, sent: number) =>
  stalledUpload(Number(new URL(h.node.url).port), "/trpc/relay", declared, sent);

/** Resolves once `check` holds (the test's own timeout bounds the wait: state decides, not a clock). */
const until = async (check: () => Promise<boolean>) => {
  while (!(await check())) await new Promise((r) => setTimeout(r, 50));
};

describe("bodies not yet verified", () => {
  it("holds at most requests.bodyBudgetBytes of stalled bodies, refuses the rest 503 NODE_BUSY, and serves a relay once the deadline cut them", async () => {
    const stalled = Array.from({ length: 6 }, () => stalledRelay(900 * 1024, 600 * 1024));
    // One fits, a second goes past the budget part-way: every later one is refused, none held.
    const refused = await Promise.all(stalled.slice(1).map((s) => s.answer));
    const busy = refused.filter((text) => text.startsWith("HTTP/1.1 503"));
    expect(busy.length).toBeGreaterThanOrEqual(4);
    for (const text of busy) expect(text).toContain('"pocketCode":"NODE_BUSY"');
    const held = await heldBytes();
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(BUDGET);
    // The deadline ends the stalled request: its bytes are given back.
    const first = await stalled[0]!.answer;
    expect(first).toMatch(/^HTTP\/1.1 408|^$/);
    await until(async () => (await heldBytes()) === 0);
    const response = await h.client.relay.mutate(
      gw.request({ model: "llama-2-13b", prompt: "The capital of France is", max_tokens: 4 }),
    );
    expect(response.usage.outputTokens).toBeGreaterThan(0);
  }, 30_000);
});

describe("other calls", () => {
  it("refuses a batch of more than one call with INVALID_REQUEST, and answers one", async () => {
    const batched = await fetch(`${h.node.trpcUrl}/${Array(50).fill("info").join(",")}?batch=1`);
    expect(batched.status).toBe(400);
    expect(await batched.text()).toContain('"pocketCode":"INVALID_REQUEST"');
    expect((await fetch(`${h.node.trpcUrl}/info?batch=1`)).status).toBe(200);
    expect((await fetch(`${h.node.trpcUrl}/info`)).status).toBe(200);
  });

  it("answers an unknown path 404 with a stable code", async () => {
    const response = await fetch(`${h.node.url}/nope`);
    expect(response.status).toBe(404);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("ROUTE_NOT_FOUND");
    expect(body.error.message).toContain("/health");
  });
});
