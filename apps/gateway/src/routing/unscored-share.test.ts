import type { Scoreboard } from "@pocket-ai/protocol";
import { Effect, Either } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestNetwork, type TestNetwork } from "../../test/support/test-network.js";
import { dispatchRequest, registered, unary } from "../../test/support/test-requests.js";
import { until } from "../../test/support/until.js";
import { NodeRegistry } from "../registry/node-registry.js";
import { ScoresPoller } from "../scores/scores-poller.js";

/**
 * A real gateway's routing and real nodes: three honest nodes the evaluator scored and one it
 * caught cheating. The cheater stops and comes back under a fresh key, which the evaluator has not
 * scored: that key's share of the relays stays within `routing.selection.unscoredShare`, as small
 * as the penalised key's, and it still gets some.
 */

type TestNode = Awaited<ReturnType<TestNetwork["startNode"]>>;
let net: TestNetwork;
let honest: TestNode[];
let cheater: TestNode;

const RELAYS = 300;
const UNSCORED_SHARE = 0.1;

const entry = (address: string, penalties: string[] = []): Scoreboard["nodes"][number] => ({
  address,
  serviceId: "llama-2-13b",
  categories: {},
  overall: { mean: 0.7, lower: 0.65, upper: 0.75, n: 200 },
  qualifies: [],
  speed: { ttftP10Ms: 100, tokensPerSecondP10: 30, samples: 20 },
  errorRate: 0,
  identity: {
    sharedBackendGroup: null,
    declaredModel: "llama-2-13b",
    modelTest: penalties.length > 0 ? "inconsistent" : "consistent",
    modelTestPValue: penalties.length > 0 ? 0.001 : 0.5,
  },
  loglikelihood: "supported",
  ...(penalties.length > 0 ? { penalties } : {}),
  updatedAt: Date.now(),
});

/** Sends `RELAYS` completions one after another and counts the relays each node served. */
async function relaysPerNode(): Promise<Map<string, number>> {
  const served = new Map<string, number>();
  for (let i = 0; i < RELAYS; i++) {
    const result = await unary(net, dispatchRequest("llama-2-13b", { prompt: "Hi", max_tokens: 1 }));
    if (Either.isLeft(result)) throw result.left;
    const node = result.right.record.nodeAddress;
    served.set(node, (served.get(node) ?? 0) + 1);
  }
  return served;
}

beforeAll(async () => {
  net = await startTestNetwork({ hedge: { enabled: false } });
  honest = [await net.startNode(), await net.startNode(), await net.startNode()];
  cheater = await net.startNode();
  await registered(net, 4);
  net.setBoard({
    evaluator: "test-evaluator",
    generatedAt: Date.now(),
    nodes: [...honest.map((n) => entry(n.address)), entry(cheater.address, ["model-mismatch"])],
  });
  // The gateway polls the board: wait until it weighs every node by it.
  const book = await net.managed.runPromise(ScoresPoller);
  await until(
    () => [...honest, cheater].every((n) => book.routingScore(n.address, "llama-2-13b") !== undefined),
    "the scoreboard at the gateway",
  );
}, 60_000);
afterAll(async () => {
  await net.close();
});

describe("a node caught cheating that comes back under a fresh key", () => {
  it("gets no more than the unscored share of the relays, and some", async () => {
    const before = await relaysPerNode();
    const penalised = before.get(cheater.address) ?? 0;
    expect(penalised).toBeLessThan(RELAYS * UNSCORED_SHARE);

    // The cheater leaves (its key is found unreachable) and announces under a new key.
    await cheater.stop();
    await net.managed.runPromise(
      Effect.map(NodeRegistry, (registry) => registry.markUnreachable(cheater.address, Date.now())),
    );
    const fresh = await net.startNode();
    await registered(net, 5);

    const after = await relaysPerNode();
    expect(after.get(cheater.address) ?? 0).toBe(0);
    const freshShare = after.get(fresh.address) ?? 0;
    // Unscored: a bounded share, as small as a penalised key's (about 4% each here), not the
    // quarter an average score would give it; and enough to be sampled while the evaluator probes it.
    expect(freshShare).toBeLessThan(RELAYS * UNSCORED_SHARE);
    expect(freshShare).toBeGreaterThan(0);
    for (const node of honest) expect(after.get(node.address) ?? 0).toBeGreaterThan(freshShare);
  }, 120_000);
});
