import { MICRO_USD_PER_USD, mintForClaim, pinPrice, uPoktPerRelay } from "@pocket-ai/protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { computeUnitPin, mintOfClaim } from "./claim-mint.js";

const W48 = (rateMicroUsdPerPokt: number) => ({ weekId: "2026-W48", rateMicroUsdPerPokt });
const claimOf = (relays: number, cuPerRelay: number) => ({
  root: "ab".repeat(32),
  relays,
  computeUnits: String(relays * cuPerRelay),
});

describe("the mint of a proven claim", () => {
  it("is 4 uPOKT per compute unit at $0.25: 3000 per $0.00075 relay, 300 POKT per 100,000", () => {
    const pin = computeUnitPin("llama-2-13b", W48(250_000), 750);
    expect(pin).toMatchObject({ uPoktPerRelay: "4", computeUnitsPerRelay: 1, priceMicroUsd: 1 });
    expect(mintOfClaim("llama-2-13b", claimOf(1, 750), W48(250_000), 750)).toBe(3000n);
    expect(mintOfClaim("llama-2-13b", claimOf(100_000, 750), W48(250_000), 750)).toBe(300_000_000n);
    expect(mintOfClaim("stable-diffusion", claimOf(1, 18_000), W48(250_000), 18_000)).toBe(72_000n);
  });

  it("equals the catalog tier's own pin whenever that pin is exact", () => {
    // The seed's tier pin (price 750 µUSD = 750 CU per relay) and the week's compute-unit pin agree.
    const tier = pinPrice(
      { serviceId: "llama-2-13b", tierId: "standard", priceMicroUsd: 750, computeUnitsPerRelay: 750 },
      W48(250_000),
    );
    const claim = claimOf(40, 750);
    expect(mintForClaim(claim, tier)).toBe(mintOfClaim("llama-2-13b", claim, W48(250_000), 750));
  });

  it("never mints more than the fiat price buys, and at least what per-relay rounding would", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 0xffff_ffff }),
        fc.constantFrom(500, 750, 2560, 12_000, 18_000),
        fc.integer({ min: 1, max: 200_000 }),
        (rate, price, relays) => {
          const claim = claimOf(relays, price);
          const minted = mintOfClaim("s", claim, W48(rate), price);
          const fiat = BigInt(claim.computeUnits) * MICRO_USD_PER_USD;
          expect(minted * BigInt(rate) <= fiat).toBe(true);
          expect(fiat - minted * BigInt(rate) < BigInt(rate)).toBe(true); // floored once per claim
          expect(minted >= BigInt(relays) * uPoktPerRelay(price, rate)).toBe(true);
        },
      ),
    );
  });

  it("caps a claim at its heaviest verified relay", () => {
    const inflated = { root: "ab".repeat(32), relays: 2, computeUnits: "1000000" };
    expect(mintOfClaim("s", inflated, W48(250_000), 750)).toBe(2n * 750n * 4n);
  });
});
