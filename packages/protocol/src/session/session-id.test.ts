import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalBytes, sha256Hex } from "../encoding/index.js";
import { deriveSessionId, SESSION_ID_DOMAIN } from "./session-id.js";

const computed = (applicationAddress: string, serviceId: string, sessionNumber: number) =>
  sha256Hex(canonicalBytes({ applicationAddress, domain: SESSION_ID_DOMAIN, serviceId, sessionNumber }));

describe("deriveSessionId", () => {
  it("is the hash of its fields, remembered or not, for fields that could be confused when joined", () => {
    // Strings made of digits, colons and newlines: the remembered ids' keys must keep them apart.
    const part = fc.string({ unit: fc.constantFrom("1", "2", ":", "\n", "a"), maxLength: 6 });
    fc.assert(
      fc.property(part, part, fc.nat(30), (app, service, n) => {
        const first = deriveSessionId(app, service, n);
        expect(first).toBe(computed(app, service, n));
        expect(deriveSessionId(app, service, n)).toBe(first);
      }),
      { numRuns: 6_000 },
    );
  });

  it("gives the id of the fields asked for right after another list that joins to the same text", () => {
    expect(deriveSessionId("1:a", "b", 1)).toBe(computed("1:a", "b", 1));
    expect(deriveSessionId("1", "a1:b", 1)).toBe(computed("1", "a1:b", 1));
    expect(deriveSessionId("a\nb", "c", 2)).toBe(computed("a\nb", "c", 2));
    expect(deriveSessionId("a", "b\nc", 2)).toBe(computed("a", "b\nc", 2));
  });
});
