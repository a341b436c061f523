import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createRelayRequest,
  deriveSessionHeader,
  generateKeyPair,
  type RelayInputCount,
} from "@pocket-ai/protocol";
import { familyTokenizer as tokensOf } from "@pocket-ai/tokens";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import {
  admitLlamaRelay,
  llamaSpec,
  openTestLedger,
  servedLlama,
  TEST_SESSION,
} from "../../test/helpers/admission-fixtures.js";
import { familyTokenizer } from "../tokens/token-counter.js";
import type { Admission } from "./admission.js";
import { GatewayCounts, type InputCountSource } from "./gateway-counts.js";

const node = generateKeyPair();
const gateway = generateKeyPair();
const stranger = generateKeyPair();
const application = generateKeyPair();
const llama = tokensOf("llama-2");
const PROMPT = "The relay network carries each request to a node that serves the model. Москва, 東京.";
const TRUE_COUNT = llama.countPrompt(PROMPT);

/** The node's Llama 2 counter, wrapped to count how often it runs. */
function countedService() {
  const counter = familyTokenizer("llama-2")!;
  const calls = { n: 0 };
  const service = servedLlama(
    {
      ...counter,
      count: (text) =>
        Effect.suspend(() => {
          calls.n++;
          return counter.count(text);
        }),
    },
    { declared: "meta-llama/Llama-2-13b-chat-hf", family: "llama-2", quantization: "fp16" },
  );
  return { service, calls };
}

interface Reported {
  readonly sources: InputCountSource[];
  readonly wrong: { gateway: string; claimed: number; counted: number; first: boolean }[];
}

function setup(options: { auditEvery?: number; draws?: number[] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "pocket-counts-"));
  const { service, calls } = countedService();
  const reported: Reported = { sources: [], wrong: [] };
  const draws = [...(options.draws ?? [])];
  const counts = new GatewayCounts({
    trusted: [gateway.address],
    auditEvery: options.auditEvery ?? 16,
    // Each relay takes the next draw; 1 (never an audit) once they run out.
    draw: () => draws.shift() ?? 1,
    report: {
      counted: (source) => reported.sources.push(source),
      wrong: (g, claimed, counted, first) => reported.wrong.push({ gateway: g, claimed, counted, first }),
    },
  });
  const admit = (
    body: Record<string, unknown>,
    inputCount: RelayInputCount | undefined,
    signer = gateway,
  ): Effect.Effect<Admission, unknown> =>
    Effect.scoped(
      Effect.flatMap(openTestLedger(join(dir, "node.sqlite")), (store) =>
        admitLlamaRelay({
          store,
          service,
          signer,
          nodeAddress: node.address,
          applicationAddress: application.address,
          tier: "standard",
          operation: "completions",
          payload: body,
          inputCount,
          counts,
        }),
      ),
    );
  return { admit, calls, reported, counts };
}

const run = <A>(effect: Effect.Effect<A, unknown>) => Effect.runPromise(effect);
const admitted = (admission: Admission) => {
  if (admission.kind !== "admitted") throw new Error(`expected admitted, got ${admission.kind}`);
  return admission.relay;
};
const body = { prompt: PROMPT, max_tokens: 8 };

describe("a gateway's signed input count", () => {
  it("is taken without tokenizing when the gateway is configured and the relay is not audited", async () => {
    const { admit, calls, reported } = setup();
    const relay = admitted(await run(admit(body, { tokenizer: "llama-2", promptTokens: [TRUE_COUNT] })));
    expect(relay.inputTokens).toBe(TRUE_COUNT);
    expect(calls.n).toBe(0);
    expect(reported.sources).toEqual(["gateway"]);
  });

  it("is checked against the node's tokenizer on an audited relay, and kept when it matches", async () => {
    const { admit, calls, reported, counts } = setup({ draws: [0] });
    const relay = admitted(await run(admit(body, { tokenizer: "llama-2", promptTokens: [TRUE_COUNT] })));
    expect(relay.inputTokens).toBe(TRUE_COUNT);
    expect(calls.n).toBe(1);
    expect(reported.sources).toEqual(["audit"]);
    expect(reported.wrong).toEqual([]);
    expect(counts.distrusts(gateway.address)).toBe(false);
  });

  it("caught wrong on an audit: the node's count is billed, and every later relay of that gateway is counted", async () => {
    const { admit, calls, reported, counts } = setup({ draws: [0] });
    const lie = { tokenizer: "llama-2", promptTokens: [TRUE_COUNT - 10] };
    const first = admitted(await run(admit(body, lie)));
    expect(first.inputTokens).toBe(TRUE_COUNT);
    expect(reported.wrong).toEqual([
      { gateway: gateway.address, claimed: TRUE_COUNT - 10, counted: TRUE_COUNT, first: true },
    ]);
    expect(counts.distrusts(gateway.address)).toBe(true);
    // No audit is drawn any more, yet the gateway's counts are no longer taken.
    const second = admitted(await run(admit(body, lie)));
    expect(second.inputTokens).toBe(TRUE_COUNT);
    expect(calls.n).toBe(2);
    expect(reported.sources).toEqual(["audit", "node"]);
  });

  it("that does not list one count per prompt is treated as wrong when audited, never taken", async () => {
    const { admit, reported } = setup({ draws: [0] });
    const relay = admitted(await run(admit(body, { tokenizer: "llama-2", promptTokens: [TRUE_COUNT, 1] })));
    expect(relay.inputTokens).toBe(TRUE_COUNT);
    expect(reported.wrong).toHaveLength(1);
    // Unaudited, a count of the wrong shape is still not taken.
    const again = setup();
    const unaudited = admitted(
      await run(again.admit(body, { tokenizer: "llama-2", promptTokens: [TRUE_COUNT, 1] })),
    );
    expect(unaudited.inputTokens).toBe(TRUE_COUNT);
    expect(again.calls.n).toBe(1);
  });

  it("limits the relay as the node's own count would: over the tier's input limit is refused", async () => {
    const { admit, calls } = setup();
    const limit = llamaSpec.tiers.find((t) => t.id === "standard")!;
    const over = "limits" in limit && "maxInputTokens" in limit.limits ? limit.limits.maxInputTokens + 1 : 0;
    const admission = await run(admit(body, { tokenizer: "llama-2", promptTokens: [over] }));
    expect(admission.kind === "refused" && admission.error.code).toBe("INPUT_TOO_LONG");
    expect(calls.n).toBe(0);
  });

  it("is not taken from a gateway outside the node's config, nor for another tokenizer family", async () => {
    const { admit, calls, reported } = setup();
    const fromStranger = admitted(
      await run(admit(body, { tokenizer: "llama-2", promptTokens: [1] }, stranger)),
    );
    expect(fromStranger.inputTokens).toBe(TRUE_COUNT);
    const otherFamily = admitted(await run(admit(body, { tokenizer: "mistral", promptTokens: [1] })));
    expect(otherFamily.inputTokens).toBe(TRUE_COUNT);
    const none = admitted(await run(admit(body, undefined)));
    expect(none.inputTokens).toBe(TRUE_COUNT);
    expect(calls.n).toBe(3);
    expect(reported.sources).toEqual(["node", "node", "node"]);
    expect(reported.wrong).toEqual([]);
  });

  it("is never taken, and always compared, when every relay is audited (countAuditEvery 1)", async () => {
    const { admit, calls, reported } = setup({ auditEvery: 1 });
    const right = admitted(await run(admit(body, { tokenizer: "llama-2", promptTokens: [TRUE_COUNT] })));
    expect(right.inputTokens).toBe(TRUE_COUNT);
    expect(reported.wrong).toEqual([]);
    const wrong = admitted(await run(admit(body, { tokenizer: "llama-2", promptTokens: [1] })));
    expect(wrong.inputTokens).toBe(TRUE_COUNT);
    expect(calls.n).toBe(2);
    expect(reported.sources).toEqual(["audit", "audit"]);
    expect(reported.wrong).toHaveLength(1);
  });

  it("is audited about one relay in auditEvery with the default random draw", () => {
    const counts = new GatewayCounts({ trusted: [gateway.address], auditEvery: 4 });
    const request = createRelayRequest(
      {
        header: deriveSessionHeader(TEST_SESSION, application.address, llamaSpec.id, Date.now()),
        tier: "standard",
        operation: "completions",
        payload: { ...body, model: llamaSpec.id },
        issuedAt: Date.now(),
        inputCount: { tokenizer: "llama-2", promptTokens: [TRUE_COUNT] },
      },
      gateway,
    );
    let audits = 0;
    for (let i = 0; i < 4000; i++) if (counts.sourceFor(request, "llama-2") === "audit") audits++;
    // Binomial(4000, 1/4): mean 1000, standard deviation about 27.
    expect(audits).toBeGreaterThan(850);
    expect(audits).toBeLessThan(1150);
  });
});
