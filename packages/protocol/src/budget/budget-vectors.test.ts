import { describe, expect, it } from "vitest";
import { DEFAULT_CATALOG } from "../catalog/default-catalog.js";
import { resolveModelName } from "../catalog/model-names.js";
import { RELAY_BUDGET_VECTORS } from "./budget-vectors.js";
import { relayBudget } from "./relay-budget.js";
import type { TextRequestOf } from "./relay-input.js";
import { tokensAtLeast } from "./token-bounds.js";

describe("RELAY_BUDGET_VECTORS", () => {
  it.each(RELAY_BUDGET_VECTORS.map((v) => [v.name, v] as const))("%s", (_name, vector) => {
    const target = resolveModelName(DEFAULT_CATALOG, vector.model);
    if (!target.ok) throw new Error(vector.model);
    const request = vector.request as TextRequestOf<typeof vector.operation>;
    const budget = relayBudget(vector.operation, request, target.value, tokensAtLeast);
    if ("error" in vector.expected) {
      expect(!budget.ok && budget.error.code).toBe(vector.expected.error);
    } else {
      expect(budget.ok && budget.value).toMatchObject(vector.expected);
    }
  });
});
