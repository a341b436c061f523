import type { MeteringRow } from "../../src/metering/metering-writer.js";

/** The `i`-th metering row of a test (its request hash and time told apart by `i`), with `fields` over it. */
export const meteringRow = (i: number, fields: Partial<MeteringRow> = {}): MeteringRow => ({
  requestHash: `hash-${i}`,
  applicationId: "app_1",
  keyId: "key_1",
  serviceId: "llama-2-13b",
  tier: "standard",
  operation: "completions",
  sessionId: "s",
  sessionNumber: 1,
  outcome: "ok",
  inputTokens: 3,
  createdAt: 1_700_000_000_000 + i,
  ...fields,
});
