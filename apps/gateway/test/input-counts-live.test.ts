import { type FakeTextEngine, startFakeVllm } from "@pocket-ai/node/fakes";
import { familyTokenizer, prepareFamilyTokenizers } from "@pocket-ai/tokens";
import Database from "better-sqlite3";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LiveNetwork, nodeInputCounts, startLiveNetwork } from "./support/live-network.js";
import { until } from "./support/until.js";

/**
 * The gateway signs its count of a text relay's input (`inputCount`) for a node that counts with
 * the same tokenizer family, and the node bills and limits by it instead of tokenizing again: a
 * real gateway, a real node that counts Llama 2 in front of a vLLM-shaped engine, the official
 * `openai` client. What the client is told, the ledger and the node's own counters agree.
 */

let engine: FakeTextEngine;
let net: LiveNetwork;

beforeAll(async () => {
  engine = await startFakeVllm();
  net = await startLiveNetwork({ backends: [{ kind: "vllm", url: engine.url }] });
});

afterAll(async () => {
  await net?.close();
  await engine?.close();
});

const PROMPT =
  "The relay network carries each request to a node that serves the model; a café in Zürich, 東京 and Москва. ".repeat(
    4,
  );

/** Input tokens of the ledger's ok relays by operation, once `n` of them are metered. */
async function meteredInputTokens(n: number): Promise<Record<string, number[]>> {
  let rows: { operation: string; input_tokens: number }[] = [];
  await until(() => {
    const db = new Database(net.ledgerFile, { readonly: true });
    try {
      rows = db
        .prepare("select operation, input_tokens from relays where outcome = 'ok' order by created_at")
        .all() as typeof rows;
    } finally {
      db.close();
    }
    return rows.length >= n;
  }, `${n} relays metered`);
  const byOperation: Record<string, number[]> = {};
  for (const row of rows)
    byOperation[row.operation] = [...(byOperation[row.operation] ?? []), row.input_tokens];
  return byOperation;
}

describe("input counts signed by the gateway", () => {
  it("are taken by the node: the usage billed is the exact Llama 2 count, and the node ran no tokenizer for most relays", async () => {
    const key = await net.newKey();
    const client = new OpenAI({ apiKey: key.secret, baseURL: `${net.gateway.url}/v1`, maxRetries: 0 });
    prepareFamilyTokenizers(["llama-2"]);
    const expected = familyTokenizer("llama-2").countPrompt(PROMPT);
    const relays = 12;
    for (let i = 0; i < relays; i++) {
      const answer = await client.completions.create({ model: "llama-2-13b", prompt: PROMPT, max_tokens: 1 });
      expect(answer.choices).toHaveLength(1);
    }
    const chat = await client.chat.completions.create({
      model: "llama-2-13b",
      messages: [{ role: "user", content: PROMPT }],
      max_tokens: 1,
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const _ of chat);
    // Billed: the exact count, for the completions and for the chat's one prompt (the flattened
    // conversation, "user: …").
    const billed = await meteredInputTokens(relays + 1);
    expect(billed.completions).toEqual(Array.from({ length: relays }, () => expected));
    expect(billed["chat.completions"]).toEqual([familyTokenizer("llama-2").countPrompt(`user: ${PROMPT}`)]);
    const counts = (await nodeInputCounts(net.nodes[0]!.node.url)).bySource;
    // Every relay carried a count the node could take; it counted itself only on its random audits.
    expect((counts.gateway ?? 0) + (counts.audit ?? 0)).toBe(relays + 1);
    expect(counts.node ?? 0).toBe(0);
    expect(counts.gateway ?? 0).toBeGreaterThan(0);
  });
});
