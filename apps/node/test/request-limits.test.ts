import { stalledUpload } from "@pocket-ai/runtime/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NodeHarness, startTestNode, TestGateway } from "./helpers/node-harness.js";

// What a stranger can make a node hold before any signature is checked: bodies sent up to just
// short of their end, on many connections.
const BUDGET = 1024 * 1024;
// Long enough that the refusals and the held bytes are read before the deadline cuts the body that
// fits, on a busy machine too; the test waits for that cut once.
const TIMEOUT_MS = 6_000;
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
    // One fits (whichever the node reads first), a second goes past the budget part-way: every
    // later one is refused, none held. The one that fits answers only when the deadline cuts it.
    const answers: string[] = [];
    for (const s of stalled) void s.answer.then((text) => answers.push(text));
    await until(async () => answers.length >= 5);
    const busy = answers.filter((text) => text.startsWith("HTTP/1.1 503"));
    expect(busy.length).toBeGreaterThanOrEqual(4);
    for (const text of busy) expect(text).toContain('"pocketCode":"NODE_BUSY"');
    const held = await heldBytes();
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(BUDGET);
    // The deadline ends the stalled request: its bytes are given back.
    await until(async () => answers.length === 6);
    expect(answers.filter((text) => /^HTTP\/1.1 408|^$/.test(text))).toHaveLength(1);
    await until(async () => (await heldBytes()) === 0);
    const response = await h.client.relay.mutate(
      gw.request({ model: "llama-2-13b", prompt: "The capital of France is", max_tokens: 4 }),
    );
    expect(response.usage.outputTokens).toBeGreaterThan(0);
  }, 30_000);
});

describe("one network's share", () => {
  // A node that counts loopback callers by address (127.0.0.2 is the stranger, 127.0.0.1 the
  // gateway): 4 MiB in all, 1 MiB for one network.
  let shared: NodeHarness;
  beforeAll(async () => {
    shared = await startTestNode({
      requests: {
        timeoutMs: 30_000,
        bodyBudgetBytes: 4 * BUDGET,
        bodyShareBytes: BUDGET,
        unsharedSources: [],
      },
    });
  });
  afterAll(async () => {
    await shared?.stop();
  });
  const metric = async (name: string) => {
    const text = await (await fetch(`${shared.node.url}/metrics`)).text();
    return text.split("\n").filter((l) => l.startsWith(name));
  };

  it("refuses a stranger's slow uploads past its share 503 NODE_BUSY while a gateway's relay passes, and counts the refusals", async () => {
    const port = Number(new URL(shared.node.url).port);
    const stranger = Array.from({ length: 5 }, () =>
      stalledUpload(port, "/trpc/relay", 900 * 1024, 400 * 1024, { from: "127.0.0.2" }),
    );
    // Two fit the share (more are refused if their parts came interleaved): the rest are refused,
    // each counted, and the budget is far from full.
    const refused: string[] = [];
    for (const s of stranger) void s.answer.then((text) => refused.push(text));
    const counted = 'pocket_node_bodies_refused_total{budget="relay",reason="share"}';
    await until(
      async () => refused.length >= 3 && (await metric(counted))[0] === `${counted} ${refused.length}`,
    );
    for (const text of refused) {
      expect(text).toMatch(/^HTTP\/1.1 503/);
      expect(text).toContain('"pocketCode":"NODE_BUSY"');
    }
    const response = await shared.client.relay.mutate(
      gw.request({ model: "llama-2-13b", prompt: "The capital of France is", max_tokens: 4 }),
    );
    expect(response.usage.outputTokens).toBeGreaterThan(0);
    for (const s of stranger) s.socket.destroy();
  }, 30_000);

  it("holds what another call's body sent, not what it declared, with or without a length", async () => {
    const port = Number(new URL(shared.node.url).port);
    const declared = stalledUpload(port, "/trpc/settleCut", 1024 * 1024, 1000, { from: "127.0.0.2" });
    const chunked = stalledUpload(port, "/trpc/settleCut", 0, 2000, { from: "127.0.0.2", chunked: true });
    await until(async () => {
      const [line] = await metric("pocket_node_unverified_body_bytes");
      return line?.endsWith(" 3000") === true;
    });
    declared.socket.destroy();
    chunked.socket.destroy();
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
