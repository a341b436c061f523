import { generateKeyPair, signRelayResponse, verifyRelayResponse } from "@pocket-ai/protocol";
import { describe, expect, it } from "vitest";
import { testRoute } from "../../test/support/relay-route.js";
import { envelopeRefusal, safePath } from "./answer-refusal.js";
import { chunkOffSchema, verifyAnswer } from "./verify-answer.js";

/** Text a node could send to forge a log line or leak an output through a refusal's detail. */
const NODE_TEXT = 'secret-output"}\n{"level":"error","msg":"forged';

describe("a refused answer's reason and detail", () => {
  const node = generateKeyPair();
  const route = testRoute(1_000_005_000);
  const requestHash = "c".repeat(64);
  const limits = { maxOutputTokens: 60, choices: 1, maxImages: 0, maxComputeUnits: 100, inputTokens: 3 };
  const completion = (logprobs: unknown) => ({
    id: "cmpl-1",
    object: "text_completion",
    created: 1_700_000_000,
    model: "m",
    choices: [{ index: 0, text: " hi", logprobs, finish_reason: "stop" }],
    usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
  });
  const verify = (raw: unknown) =>
    verifyAnswer(JSON.parse(JSON.stringify(raw)), {
      requestHash,
      nodeAddress: node.address,
      header: route.header,
      operation: "completions",
      limits,
    });
  const signed = (payload: unknown) =>
    signRelayResponse(
      {
        requestHash,
        header: route.header,
        outcome: "ok",
        payload: payload as Record<string, unknown>,
        usage: { inputTokens: 3, outputTokens: 1 },
        computeUnits: 4,
      },
      node,
    ).response;

  it("names a schema issue by the schema's fields, never by a key the node sent (a logprob's token)", () => {
    const logprobs = {
      tokens: [" hi"],
      token_logprobs: [-1],
      top_logprobs: [{ [NODE_TEXT]: "x" }],
      text_offset: [0],
    };
    const refused = verify(signed(completion(logprobs)));
    expect(refused).toMatchObject({
      _tag: "InvalidNodeResponse",
      reason: "SCHEMA",
      detail: "payload off-schema at choices.0.logprobs.top_logprobs.0.* (invalid_type, expected number)",
    });
  });

  it("names an envelope's unknown key by none of its text", () => {
    const raw = { ...signed(completion(null)), [NODE_TEXT]: 1 };
    const refused = verify(raw);
    expect(refused).toMatchObject({ _tag: "InvalidNodeResponse", reason: "BAD_ENVELOPE" });
    expect(JSON.stringify(refused)).not.toContain("secret-output");
    expect(JSON.stringify(refused)).not.toContain("forged");
  });

  it("tells a forged signature, another signer, another request and another session apart", () => {
    const good = signed(completion(null));
    const other = generateKeyPair();
    const flipped = `${good.signature.slice(0, -1)}${good.signature.endsWith("0") ? "1" : "0"}`;
    expect(verify({ ...good, signature: flipped })).toMatchObject({ reason: "BAD_SIGNATURE" });
    const byOther = signRelayResponse(
      {
        requestHash,
        header: route.header,
        outcome: "ok",
        payload: completion(null),
        usage: { inputTokens: 3, outputTokens: 1 },
        computeUnits: 4,
      },
      other,
    ).response;
    expect(verify(byOther)).toMatchObject({ reason: "WRONG_SIGNER" });
    const elsewhere = signRelayResponse(
      {
        requestHash: "d".repeat(64),
        header: route.header,
        outcome: "ok",
        payload: completion(null),
        usage: { inputTokens: 3, outputTokens: 1 },
        computeUnits: 4,
      },
      node,
    ).response;
    expect(verify(elsewhere)).toMatchObject({ reason: "WRONG_REQUEST" });
    const later = signRelayResponse(
      {
        requestHash,
        header: testRoute(1_000_905_000).header,
        outcome: "ok",
        payload: completion(null),
        usage: { inputTokens: 3, outputTokens: 1 },
        computeUnits: 4,
      },
      node,
    ).response;
    expect(verify(later)).toMatchObject({ reason: "WRONG_SESSION" });
  });

  it("keeps the protocol's own detail out, which quotes a node's unknown keys", () => {
    const raw = { ...signed(completion(null)), [NODE_TEXT]: 1 };
    const checked = verifyRelayResponse(raw);
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(envelopeRefusal("relay response", checked.error, raw).detail).not.toContain("secret-output");
  });

  it("writes a chunk's issue without the node's words", () => {
    const chunk = {
      id: "c",
      object: "chat.completion.chunk",
      created: 1,
      model: "m",
      choices: [{ index: 0, delta: { role: NODE_TEXT }, finish_reason: null }],
    };
    const off = chunkOffSchema("chat.completions", chunk);
    expect(off?.reason).toBe("SCHEMA");
    expect(off?.detail).not.toContain("secret-output");
  });

  it("keeps indexes and the schemas' field names in a path, and nothing else", () => {
    expect(safePath(["choices", 0, "message", "content"])).toBe("choices.0.message.content");
    expect(safePath(["choices", "2", NODE_TEXT, "x y"])).toBe("choices.2.*.*");
  });
});
