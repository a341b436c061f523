import { familyTokenizerReady } from "@pocket-ai/tokens";
import { describe, expect, it } from "vitest";
import { startTestGateway } from "../../test/support/gateway-test-harness.js";

describe("a starting gateway", () => {
  it("builds the token tables of its catalog's text families before it serves, not in a first relay", async () => {
    // This file's own module state: nothing has counted tokens yet.
    expect([familyTokenizerReady("llama-2"), familyTokenizerReady("mistral")]).toEqual([false, false]);
    const t = await startTestGateway();
    try {
      // The default catalog sells llama-2-13b and mistral-7b.
      expect([familyTokenizerReady("llama-2"), familyTokenizerReady("mistral")]).toEqual([true, true]);
    } finally {
      await t.close();
    }
  }, 20_000);
});
