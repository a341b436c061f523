import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair, RELAY_BUDGET_VECTORS, tokensAtLeast } from "@pocket-ai/protocol";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { admitLlamaRelay, openTestLedger, servedLlama } from "../../test/helpers/admission-fixtures.js";
import type { RelayStore } from "../db/relay-store.js";

const node = generateKeyPair();
const gateway = generateKeyPair();
const application = generateKeyPair();

/**
 * A service whose tokenizer is the protocol's word counter: the count the vectors are made with.
 * Its backend does everything the vectors ask for (tools, JSON schemas), so only the budget decides.
 */
const wordCounted = servedLlama(
  { kind: "estimate", exact: false, count: (text) => Effect.succeed(tokensAtLeast(text)) },
  { declared: "llama-2-13b", quantization: "fp16" },
);

const admit = (
  store: RelayStore,
  model: string,
  operation: "completions" | "chat.completions",
  payload: object,
) =>
  admitLlamaRelay({
    store,
    service: wordCounted,
    signer: gateway,
    nodeAddress: node.address,
    applicationAddress: application.address,
    tier: model.split(":")[1] ?? "standard",
    operation,
    payload,
  });

describe("node admission applies the protocol's budget rule", () => {
  it("agrees with the budget vectors the gateway's front door and dispatcher agree with", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pocket-admission-"));
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const store = yield* openTestLedger(join(dir, "node.sqlite"));
          for (const vector of RELAY_BUDGET_VECTORS) {
            const admission = yield* admit(store, vector.model, vector.operation, vector.request);
            if ("error" in vector.expected) {
              expect(admission.kind === "refused" && admission.error.code, vector.name).toBe(
                vector.expected.error,
              );
              continue;
            }
            if (admission.kind !== "admitted") throw new Error(`${vector.name}: ${admission.kind}`);
            const { relay } = admission;
            expect(relay.inputTokens, vector.name).toBe(vector.expected.inputTokens);
            expect(relay.maxOutputTokens, vector.name).toBe(vector.expected.maxOutputTokens);
            expect(relay.body.max_tokens, vector.name).toBe(vector.expected.maxTokens);
          }
        }),
      ),
    );
  });
});
