import { type FakeTextEngine, startFakeVllm } from "@pocket-ai/node/fakes";
import { Either } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestNetwork, type TestNetwork } from "../../test/support/test-network.js";
import { dispatchRequest, registered, unary } from "../../test/support/test-requests.js";

let net: TestNetwork;
let fake: FakeTextEngine;
let llamacpp: Awaited<ReturnType<TestNetwork["startNode"]>>;
let dev: Awaited<ReturnType<TestNetwork["startNode"]>>;

beforeAll(async () => {
  fake = await startFakeVllm({ flavor: "llamacpp" });
  net = await startTestNetwork({ hedge: { enabled: false } });
  llamacpp = await net.startNode({ backend: { kind: "llamacpp", url: fake.url } });
  dev = await net.startNode();
  await registered(net, 2);
}, 60_000);
afterAll(async () => {
  await net.close();
  await fake.close();
});

describe("evaluator-targeted relays", () => {
  it("reach a node whose backend cannot return prompt logprobs, which refuses with UNSUPPORTED_PARAMETER", async () => {
    const body = { prompt: "Two plus two is four", max_tokens: 0, echo: true, logprobs: 1 };
    const result = await unary(net, dispatchRequest("llama-2-13b", body, { targetNode: llamacpp.address }));
    expect(Either.isLeft(result) && result.left.code).toBe("UNSUPPORTED_PARAMETER");
    // Untargeted, the same request goes to a node that can answer it.
    const routed = await unary(net, dispatchRequest("llama-2-13b", body));
    expect(Either.isRight(routed) && routed.right.record.nodeAddress).toBe(dev.address);
  });

  it("can measure a node for a quality service before it qualifies, under the node's model service", async () => {
    const result = await unary(
      net,
      dispatchRequest(
        "quality-gpt-3.5",
        { prompt: "The capital of France is", max_tokens: 4 },
        { targetNode: dev.address },
      ),
    );
    if (Either.isLeft(result)) throw result.left;
    expect(result.right.record.servedServiceId).toBe("llama-2-13b");
    expect(result.right.payload.model).toBe("quality-gpt-3.5:standard");
    // Without targeting, an unqualified node is not a route for the quality service.
    const untargeted = await unary(net, dispatchRequest("quality-gpt-3.5", { prompt: "Hi", max_tokens: 2 }));
    expect(Either.isLeft(untargeted) && untargeted.left.code).toBe("NO_NODES_AVAILABLE");
  });
});
