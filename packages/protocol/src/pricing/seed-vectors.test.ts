import { describe, expect, it } from "vitest";
import { bedrockEquivalentMicroUsd } from "./bedrock-equivalent.js";
import { formatPokt, parsePokt } from "./money.js";
import { computeUnitsToTokensMultiplier, relaysToTokensMultiplier, uPoktPerRelay } from "./multipliers.js";
import { mintForClaim, pinPrice } from "./pinned-price.js";
import { assertTallyBalanced, weeklyTally } from "./weekly-tally.js";

const rate = { weekId: "2026-W48", rateMicroUsdPerPokt: 250_000 }; // $0.25 per POKT

describe("the seed proposal's numbers", () => {
  it("$0.00075 per call at $0.25/POKT is 0.003 POKT = 3000 uPOKT", () => {
    expect(uPoktPerRelay(750, 250_000)).toBe(3000n);
    expect(relaysToTokensMultiplier(750, 250_000)).toBe(3000n);
    expect(formatPokt(3000n)).toBe("0.003");
  });

  it("the batch tier at $0.0005 is 2000 uPOKT; a $0.018 image is 72000 uPOKT", () => {
    expect(uPoktPerRelay(500, 250_000)).toBe(2000n);
    expect(uPoktPerRelay(18_000, 250_000)).toBe(72_000n);
    expect(formatPokt(72_000n)).toBe("0.072");
    const image = pinPrice(
      {
        serviceId: "stable-diffusion",
        tierId: "standard",
        priceMicroUsd: 18_000,
        computeUnitsPerRelay: 18_000,
        maxComputeUnitsPerRelay: 18_000 * 16,
      },
      rate,
    );
    expect(mintForClaim({ relays: 1, computeUnits: "18000" }, image)).toBe(72_000n);
    expect(mintForClaim({ relays: 1, computeUnits: "72000" }, image)).toBe(288_000n); // one call, 4 standard images
  });

  it("with the catalog's weights (1 CU per µUSD) the CUTTM is a whole 4 uPOKT per CU at $0.25", () => {
    const pin = pinPrice(
      { serviceId: "llama-2-13b", tierId: "standard", priceMicroUsd: 750, computeUnitsPerRelay: 750 },
      rate,
    );
    expect(computeUnitsToTokensMultiplier(BigInt(pin.uPoktPerRelay), 750)).toMatchObject({
      integerUPoktPerComputeUnit: 4n,
      integerRemainderPerRelay: 0n,
    });
    expect(mintForClaim({ relays: 100_000, computeUnits: "75000000" }, pin)).toBe(300_000_000n);
  });

  it("100,000 relays by one operator mint 300 POKT, charged 300 and burned 300", () => {
    const pin = pinPrice(
      { serviceId: "llama-2-13b", tierId: "standard", priceMicroUsd: 750, computeUnitsPerRelay: 4600 },
      rate,
    );
    const minted = mintForClaim({ relays: 100_000, computeUnits: String(100_000 * 4600) }, pin);
    expect(minted).toBe(300_000_000n);
    const mints = [{ operator: "xyz", serviceId: "llama-2-13b", weekId: rate.weekId, uPokt: minted }];
    const [row] = weeklyTally(mints);
    expect(row).toEqual({
      weekId: "2026-W48",
      operator: "xyz",
      serviceId: "llama-2-13b",
      mints: 1,
      minted: 300_000_000n,
      charged: 300_000_000n,
      burned: 300_000_000n,
    });
    expect(formatPokt(row!.burned)).toBe("300");
    expect(() => assertTallyBalanced(weeklyTally(mints), mints)).not.toThrow();
  });

  it("the same 300 POKT when 100,000 claims of one relay each are tallied", () => {
    const mints = Array.from({ length: 100_000 }, () => ({
      operator: "xyz",
      serviceId: "llama-2-13b",
      weekId: "2026-W48",
      uPokt: mintForClaim(
        { relays: 1, computeUnits: 4600n },
        { uPoktPerRelay: 3000n, computeUnitsPerRelay: 4600 },
      ),
    }));
    expect(formatPokt(weeklyTally(mints)[0]!.burned)).toBe("300");
  });

  it("a CUTTM that is exact per standard relay whatever the compute units per relay", () => {
    const m = computeUnitsToTokensMultiplier(3000n, 4600);
    expect(m.integerUPoktPerComputeUnit).toBe(0n);
    expect(m.integerRemainderPerRelay).toBe(3000n);
    expect(computeUnitsToTokensMultiplier(3000n, 1000)).toMatchObject({
      integerUPoktPerComputeUnit: 3n,
      integerRemainderPerRelay: 0n,
    });
    expect(
      mintForClaim(
        { relays: 1, computeUnits: "4600" },
        { uPoktPerRelay: "3000", computeUnitsPerRelay: 4600 },
      ),
    ).toBe(3000n);
  });

  it("a full text call would cost $0.00115 at the Bedrock per-token prices", () => {
    expect(bedrockEquivalentMicroUsd(200, 1000)).toBe(1150n);
    expect(bedrockEquivalentMicroUsd(1, 0)).toBe(1n); // 0.75 µUSD rounds up
    expect(bedrockEquivalentMicroUsd(0, 0)).toBe(0n);
  });

  it("POKT amounts format and parse exactly", () => {
    expect(formatPokt(0n)).toBe("0");
    expect(formatPokt(1n)).toBe("0.000001");
    expect(formatPokt(-1_500_000n)).toBe("-1.5");
    expect(parsePokt("0.003")).toBe(3000n);
    expect(parsePokt("300")).toBe(300_000_000n);
    expect(() => parsePokt("0.0000001")).toThrow(SyntaxError);
    expect(() => parsePokt("1e3")).toThrow(SyntaxError);
  });
});
