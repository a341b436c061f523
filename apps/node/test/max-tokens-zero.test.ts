import { afterEach, describe, expect, it } from "vitest";
import { type FakeTextEngine, startFakeVllm } from "./fakes/fake-vllm.js";
import { type NodeHarness, startTestNode, TestGateway } from "./helpers/node-harness.js";

/**
 * `max_tokens: 0` is a call to score a prompt (`echo` on completions), never a generation: Ollama
 * maps it to `num_predict: 0`, which its runner reads as "no limit", so a relay that passed it on
 * would have the engine generate until its end of text, unpaid (the cap is 0 output tokens). A
 * trusted gateway that signs one anyway is refused before the engine is called.
 */
let harness: NodeHarness | undefined;
let fake: FakeTextEngine | undefined;
afterEach(async () => {
  await harness?.stop();
  await fake?.close();
});

describe("max_tokens 0 without a prompt to score", () => {
  it("is refused with a signed INVALID_REQUEST and never reaches an Ollama engine", async () => {
    fake = await startFakeVllm({ flavor: "ollama" });
    harness = await startTestNode({
      services: [
        {
          serviceId: "llama-2-13b",
          tiers: ["standard"],
          model: { declared: "llama-2-13b-chat", family: "llama-2" },
          backends: [{ kind: "ollama", url: fake.url, model: "llama2", probeAtStart: false }],
        },
      ],
    });
    const gw = new TestGateway();
    const chat = await harness.client.relay.mutate(
      gw.request(
        { model: "llama-2-13b", messages: [{ role: "user", content: "Hi" }], max_tokens: 0 },
        { operation: "chat.completions" },
      ),
    );
    const completion = await harness.client.relay.mutate(
      gw.request({ model: "llama-2-13b", prompt: "Hi", max_tokens: 0 }),
    );
    for (const response of [chat, completion]) {
      expect(response.outcome).toBe("error");
      expect(response.error?.code).toBe("INVALID_REQUEST");
      expect(response.computeUnits).toBe(0);
    }
    const generations = fake.requests.filter((r) => /\/(chat\/)?completions$/.test(r.path));
    expect(generations).toEqual([]);
    // A call that asks for output still reaches the engine.
    const answered = await harness.client.relay.mutate(
      gw.request({ model: "llama-2-13b", prompt: "Hi", max_tokens: 2 }),
    );
    expect(answered.outcome).toBe("ok");
    expect(fake.requests.filter((r) => /\/(chat\/)?completions$/.test(r.path))).toHaveLength(1);
  });
});
