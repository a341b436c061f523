import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ClaimRoot } from "../claims/index.js";
import { checkClaimAgainstLedger } from "./claim-ledger-check.js";

const root = "ab".repeat(32);
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const relayCount = fc.integer({ min: 1, max: 0xffff_ffff });

describe("checkClaimAgainstLedger", () => {
  it("accepts a claim within the ledger and reports the shortfall", () => {
    expect(
      checkClaimAgainstLedger(
        { root, relays: 90, computeUnits: "67500" },
        { relays: 100, computeUnits: 75_000n },
      ),
    ).toEqual({ ok: true, value: { unclaimedRelays: 10, unclaimedComputeUnits: 7_500n } });
  });

  it("refuses more relays or more compute units than the ledger, naming which", () => {
    const relays = checkClaimAgainstLedger(
      { root, relays: 101, computeUnits: "1" },
      { relays: 100, computeUnits: 10n },
    );
    expect(!relays.ok && relays.error).toMatchObject({ code: "INVALID_CLAIM", param: "relays" });
    expect(!relays.ok && relays.error.detail).toContain("101 relays");
    const cu = checkClaimAgainstLedger(
      { root, relays: 1, computeUnits: "11" },
      { relays: 100, computeUnits: 10n },
    );
    expect(!cu.ok && cu.error).toMatchObject({ code: "INVALID_CLAIM", param: "computeUnits" });
    const none = checkClaimAgainstLedger(
      { root, relays: 1, computeUnits: "0" },
      { relays: 0, computeUnits: 0n },
    );
    expect(!none.ok && none.error.code).toBe("INVALID_CLAIM");
  });

  it("passes exactly when neither total exceeds the ledger (property)", () => {
    fc.assert(
      fc.property(
        relayCount,
        u64,
        fc.nat({ max: 0xffff_ffff }),
        u64,
        (relays, cu, ledgerRelays, ledgerCu) => {
          const claim: ClaimRoot = { root, relays, computeUnits: cu.toString() };
          const checked = checkClaimAgainstLedger(claim, { relays: ledgerRelays, computeUnits: ledgerCu });
          expect(checked.ok).toBe(relays <= ledgerRelays && cu <= ledgerCu);
          if (checked.ok) {
            expect(checked.value.unclaimedRelays + relays).toBe(ledgerRelays);
            expect(checked.value.unclaimedComputeUnits + cu).toBe(ledgerCu);
          } else {
            expect(checked.error.code).toBe("INVALID_CLAIM");
          }
        },
      ),
    );
  });

  it("never throws on an arbitrary claim, and throws on a broken ledger", () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        const checked = checkClaimAgainstLedger(input as ClaimRoot, { relays: 10, computeUnits: 10n });
        expect(checked.ok).toBe(false);
      }),
      { numRuns: 500 },
    );
    const claim: ClaimRoot = { root, relays: 1, computeUnits: "1" };
    expect(() => checkClaimAgainstLedger(claim, { relays: -1, computeUnits: 0n })).toThrow(RangeError);
    expect(() => checkClaimAgainstLedger(claim, { relays: 1, computeUnits: -1n })).toThrow(RangeError);
  });
});
