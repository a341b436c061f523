import {
  createRelayResponse,
  generateKeyPair,
  type RelayResponseFields,
  relayResponseHash,
  verifyRelayResponse,
} from "@pocket-ai/protocol";
import { describe, expect, it } from "vitest";
import { signAnswer } from "./sign-answer.js";

const header = {
  sessionId: "a".repeat(64),
  sessionNumber: 7,
  sessionStart: 1_000,
  sessionEnd: 2_000,
  serviceId: "llama-2-13b",
  applicationAddress: `pokt1${"q".repeat(38)}`,
};

describe("signAnswer", () => {
  it("signs what createRelayResponse signs and returns relayResponseHash of it", () => {
    const key = generateKeyPair();
    const fields = {
      requestHash: "b".repeat(64),
      header,
      outcome: "ok",
      payload: { id: "x", choices: [{ index: 0, message: { role: "assistant", content: "hé" } }], n: 1.5 },
      usage: { inputTokens: 3, outputTokens: 4 },
      computeUnits: 9,
    } as unknown as RelayResponseFields;
    const expected = createRelayResponse(fields, key);
    const { response, responseHash } = signAnswer(fields, key);
    expect(response).toEqual(expected);
    expect(responseHash).toBe(relayResponseHash(expected));
    expect(verifyRelayResponse(JSON.parse(JSON.stringify(response))).ok).toBe(true);
  });

  it("throws on fields createRelayResponse refuses", () => {
    const key = generateKeyPair();
    const fields = {
      requestHash: "b".repeat(64),
      header,
      outcome: "ok",
      usage: { inputTokens: 0, outputTokens: 0 },
      computeUnits: 0,
    } as unknown as RelayResponseFields;
    expect(() => createRelayResponse(fields, key)).toThrow(TypeError);
    expect(() => signAnswer(fields, key)).toThrow(TypeError);
  });
});
