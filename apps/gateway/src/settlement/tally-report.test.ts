import { describe, expect, it } from "@effect/vitest";
import { generateKeyPair, type SessionHeader } from "@pocket-ai/protocol";
import { Effect, TestClock } from "effect";
import {
  claimTime,
  type LedgerRelay,
  ledgerRelays,
  nodeClaim,
  nodeProof,
  registerNode,
  sessionAt,
  W48_TUESDAY,
  writeLedger,
} from "../../test/support/settlement-fixtures.js";
import { SettlementTest } from "../../test/support/settlement-test-layer.js";
import { Settlement } from "./settlement.js";
import { formatTallyText } from "./settlement-cli-text.js";

const WEEK = "2026-W48";

/** One session's relays written to the ledger, claimed and proven by `node`. */
const settle = (node: ReturnType<typeof generateKeyPair>, header: SessionHeader, ledger: LedgerRelay[]) =>
  Effect.gen(function* () {
    const settlement = yield* Settlement;
    yield* writeLedger(header, node.address, ledger);
    const { tree, submission } = nodeClaim(node, header, ledger);
    yield* TestClock.setTime(claimTime(header));
    const ack = yield* settlement.submitClaim(JSON.parse(JSON.stringify(submission)));
    expect(ack.status).toBe("accepted");
    const proof = yield* settlement.submitProof(
      JSON.parse(JSON.stringify(nodeProof(node, header, tree, ack.leafIndex))),
    );
    expect(proof.status).toBe("proven");
  });

describe("the weekly tally's Bedrock equivalent", () => {
  it.effect("says image and embedding relays are not in it, in the text, JSON and CSV reports alike", () =>
    Effect.gen(function* () {
      const settlement = yield* Settlement;
      const node = generateKeyPair();
      yield* registerNode(node);
      yield* settlement.setWeeklyRate(WEEK, 250_000);
      // 4 text relays of 120 input and 400 output tokens, and 3 images (one standard unit each).
      yield* settle(node, sessionAt(W48_TUESDAY), ledgerRelays(sessionAt(W48_TUESDAY), 4));
      const images = sessionAt(W48_TUESDAY + 3_600_000, "stable-diffusion");
      yield* settle(
        node,
        images,
        ledgerRelays(images, 3, 18_000, "img").map((r) => ({
          ...r,
          inputTokens: 0,
          outputTokens: 0,
          images: 1,
        })),
      );

      // And 2 embeddings calls, whose input tokens are no generated text.
      const embeddings = sessionAt(W48_TUESDAY + 7_200_000, "nomic-embed-text");
      yield* settle(
        node,
        embeddings,
        ledgerRelays(embeddings, 2, 50, "emb").map((r) => ({
          ...r,
          outputTokens: 0,
          operation: "embeddings",
        })),
      );

      const tally = yield* settlement.weeklyTally(WEEK);
      expect(tally.rows.find((r) => r.serviceId === "nomic-embed-text")).toMatchObject({
        relaysProven: 2,
        bedrockEquivalentMicroUsd: null,
        bedrockExcludedRelays: 2,
      });
      const text = tally.rows.find((r) => r.serviceId === "llama-2-13b");
      const image = tally.rows.find((r) => r.serviceId === "stable-diffusion");
      const textBedrock = String((4 * (120 * 750 + 400 * 1000)) / 1000); // 1960 µUSD
      expect(text).toMatchObject({ bedrockEquivalentMicroUsd: textBedrock, bedrockExcludedRelays: 0 });
      expect(image).toMatchObject({
        relaysProven: 3,
        bedrockEquivalentMicroUsd: null,
        bedrockExcludedRelays: 3,
      });
      // The total is the text relays' only, and says how many relays it leaves out.
      expect(tally.totals).toMatchObject({
        relaysProven: 9,
        bedrockEquivalentMicroUsd: textBedrock,
        bedrockExcludedRelays: 5,
      });

      const json = JSON.parse(yield* settlement.report(WEEK, "json"));
      expect(json.totals.bedrockExcludedRelays).toBe(5);

      const [header, ...lines] = (yield* settlement.report(WEEK, "csv")).split("\r\n");
      expect(header).toMatch(/,bedrock_equivalent_micro_usd,bedrock_excluded_relays$/);
      expect(lines.find((l) => l.includes(",llama-2-13b,"))).toMatch(/,1960,0$/);
      expect(lines.find((l) => l.includes(",stable-diffusion,"))).toMatch(/,,3$/);

      const report = formatTallyText(tally);
      expect(report).toMatch(/stable-diffusion .* n\/a\n/);
      expect(report).toMatch(/total .* \$0\.00196 \(text only\)\n/);
      expect(report).toContain(
        "Bedrock equivalent: text relays only. 5 image or embedding relay(s) are not in it: the Bedrock prices compared are Llama 2 13B's per-token text prices, which price neither an image nor an embedding.",
      );
    }).pipe(Effect.provide(SettlementTest)),
  );
});
