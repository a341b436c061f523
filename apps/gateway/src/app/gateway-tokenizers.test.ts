import {
  createNodeAnnouncement,
  GATEWAY_PROCEDURES,
  generateKeyPair,
  RegistrationAck,
} from "@pocket-ai/protocol";
import { createTRPCUntypedClient, httpLink } from "@trpc/client";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { until } from "../../test/support/until.js";

// The token tables are built once per process, and this package's test files share their worker's
// modules: this file loads the gateway and the tokens package afresh, so that no earlier file's
// relays have built tables it looks for.
let familyTokenizerReady: typeof import("@pocket-ai/tokens").familyTokenizerReady;
let startTestGateway: typeof import("../../test/support/gateway-test-harness.js").startTestGateway;
beforeAll(async () => {
  vi.resetModules();
  ({ familyTokenizerReady } = await import("@pocket-ai/tokens"));
  ({ startTestGateway } = await import("../../test/support/gateway-test-harness.js"));
});

const ready = () => [familyTokenizerReady("llama-2"), familyTokenizerReady("mistral")];

describe("a gateway a node registers with", () => {
  it("builds the token tables of the node's families then, not in a customer's first relay, and no others", async () => {
    // This file's own module state: nothing has counted tokens yet, and a starting gateway builds nothing.
    const t = await startTestGateway();
    try {
      expect(ready()).toEqual([false, false]);
      const announcement = createNodeAnnouncement(
        {
          endpoint: "http://127.0.0.1:9/trpc",
          services: [
            {
              serviceId: "llama-2-13b",
              tiers: ["standard"],
              model: { declared: "meta-llama/Llama-2-13b-chat-hf", quantization: "none" },
              capabilities: {
                completions: true,
                chat: true,
                streaming: true,
                promptLogprobs: false,
                logprobs: false,
                seed: false,
                tokenize: false,
                images: null,
              },
              tokenizer: { kind: "llama-2", exact: true },
            },
          ],
          hardware: { gpu: "none", vramGb: 0, cpuOnly: true },
          software: { name: "test", version: "1" },
          issuedAt: Date.now(),
        },
        generateKeyPair(),
      );
      const client = createTRPCUntypedClient({ links: [httpLink({ url: t.gateway.trpcUrl })] });
      const ack = RegistrationAck.parse(await client.mutation(GATEWAY_PROCEDURES.announce, announcement));
      expect(ack.accepted).toBe(true);
      await until(() => familyTokenizerReady("llama-2"), "the llama-2 tables", 10_000);
      // No node serves a Mistral model: its tables (13 MB) are not built.
      expect(ready()).toEqual([true, false]);
    } finally {
      await t.close();
    }
  }, 20_000);
});
