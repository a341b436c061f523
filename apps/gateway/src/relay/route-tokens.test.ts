import { describe, expect, it } from "vitest";
import { testRoute } from "../../test/support/relay-route.js";
import { dispatchRequest } from "../../test/support/test-requests.js";
import type { RegisteredNode } from "../registry/registered-node.js";
import type { AnswerLimits } from "./relay-envelope.js";
import { DeliveredText, deliveredAtMost, outputOverrun, routeTokens } from "./route-tokens.js";

/** A route to a node that announces this model and tokenizer for the service it serves. */
const routeTo = (
  serviceId: string,
  model: { readonly declared: string; readonly family?: string },
  tokenizer: { readonly kind: string; readonly exact: boolean },
) => {
  const offer = { serviceId, tiers: ["standard"], model: { ...model, quantization: "none" }, tokenizer };
  const node = { address: "pokt1node", offers: new Map([[serviceId, offer]]) } as unknown as RegisteredNode;
  return { ...testRoute(1_000_005_000), node, servedServiceId: serviceId };
};

const limits = (maxOutputTokens: number): AnswerLimits => ({
  maxOutputTokens,
  choices: 1,
  maxImages: 0,
  maxComputeUnits: 1_000_000,
  inputTokens: 0,
});

const answer = (content: string) => {
  const text = new DeliveredText();
  text.add({ choices: [{ index: 0, message: { role: "assistant", content } }] });
  return text;
};

describe("routeTokens: whose count proves an overrun", () => {
  // 18 words; the Mistral 7B tokenizer counts 29 tokens, Tekken (Mistral NeMo's) fewer.
  const french =
    " Le chat dort sur le canapé pendant que la pluie tombe doucement sur les fenêtres de la maison.";

  it("does not count a Mistral NeMo answer with the Mistral 7B tokenizer (NeMo counts with Tekken)", () => {
    // As the node announces it (its engine's count), and as a node that took the name for Mistral 7B's did.
    for (const kind of ["backend", "mistral"]) {
      const route = routeTo(
        "mistral-nemo-12b",
        { declared: "mistralai/Mistral-Nemo-Instruct-2407", family: "mistral-nemo" },
        { kind, exact: true },
      );
      const tokens = routeTokens(route);
      expect(tokens.output).toEqual({});
      // An honest engine that stopped at max_tokens 24 is not refused for the other tokenizer's 29.
      expect(outputOverrun(answer(french), tokens, limits(24))).toBeUndefined();
    }
  });

  it("counts exactly only with the tokenizer the node says it counts with, not one its model name suggests", () => {
    // The node's family is none of ours, so it counts with its engine's tokenizer (`backend`): an
    // extended vocabulary that spells Korean in far fewer tokens than Llama 2's byte pieces.
    const route = routeTo(
      "llama-2-13b",
      { declared: "beomi/llama-2-ko-7b", family: "ko-extended-vocab" },
      { kind: "backend", exact: true },
    );
    const tokens = routeTokens(route);
    expect(tokens.output.exact).toBeUndefined();
    const korean = answer(" 서울은 대한민국의 수도이며 가장 큰 도시입니다.");
    expect(outputOverrun(korean, tokens, limits(16))).toBeUndefined();
    // The Llama 2 count still caps what is billed: never below an honest engine's count here.
    expect(deliveredAtMost(16, korean, tokens, dispatchRequest("llama-2-13b", {}))).toBeGreaterThanOrEqual(
      16,
    );
    // A node that counts with the family's own tokenizer is held to that count.
    const exact = routeTokens(
      routeTo(
        "llama-2-13b",
        { declared: "meta-llama/Llama-2-13b-chat-hf" },
        { kind: "llama-2", exact: true },
      ),
    );
    expect(outputOverrun(korean, exact, limits(16))).toMatch(/^delivered at least 35 output tokens/);
  });

  it("proves an overrun only by the fewest tokens that spell the text, not by the tokenizer's own spelling", () => {
    const llama = routeTokens(
      routeTo(
        "llama-2-13b",
        { declared: "meta-llama/Llama-2-13b-chat-hf" },
        { kind: "llama-2", exact: true },
      ),
    );
    // An engine sampling at a high temperature: `▁senza` then `matrix`, two tokens at max_tokens 2,
    // which Llama 2's merges spell in five (`▁s` `enz` `am` `at` `rix`).
    expect(outputOverrun(answer(" senzamatrix"), llama, limits(2))).toBeUndefined();
    // A text no spelling fits in the limit is still refused, by the fewest tokens that spell it.
    expect(outputOverrun(answer(" senzamatrix senzamatrix"), llama, limits(2))).toBe(
      "delivered at least 4 output tokens by the gateway's count; the request allowed 2",
    );
    expect(outputOverrun(answer("x".repeat(400)), llama, limits(40))).toMatch(/^delivered at least 100 /);
  });

  it("does not refuse an answer at max_tokens whose engine dropped its first token's space, whatever that token", () => {
    const llama = routeTokens(
      routeTo(
        "llama-2-13b",
        { declared: "meta-llama/Llama-2-13b-chat-hf" },
        { kind: "llama-2", exact: true },
      ),
    );
    // `▁January` `▁is` `▁cold` `.`: four tokens at max_tokens 4, read as "January is cold." by a
    // decoder that drops the first token's space; "January" alone takes three of Llama 2's tokens.
    expect(llama.output.exact?.countOutput(" January is cold.")).toBe(4);
    expect(outputOverrun(answer("January is cold."), llama, limits(4))).toBeUndefined();
    // Text no spelling fits in the limit, with or without that space, is still refused.
    expect(outputOverrun(answer("January is cold. January is cold."), llama, limits(4))).toMatch(
      /^delivered at least 8 output tokens/,
    );
  });
});
