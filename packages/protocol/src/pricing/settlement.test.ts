import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { relayComputeUnits } from "../claims/relay-compute-units.js";
import { formatPokt, parsePokt } from "./money.js";
import { uPoktPerRelay } from "./multipliers.js";
import { mintForClaim, PinnedPrice, pinPrice } from "./pinned-price.js";
import { assertTallyBalanced, type MintRecord, weeklyTally } from "./weekly-tally.js";

const claimArb = fc.record({
  operator: fc.constantFrom("op-a", "op-b", "op-c"),
  serviceId: fc.constantFrom("llama-2-13b", "mistral-7b", "sd-xl"),
  weekId: fc.constantFrom("2026-W47", "2026-W48", "2027-W01"),
  priceMicroUsd: fc.integer({ min: 0, max: 100_000 }),
  rateMicroUsdPerPokt: fc.integer({ min: 1, max: 10_000_000 }),
  computeUnitsPerRelay: fc.integer({ min: 1, max: 100_000 }),
  relays: fc.integer({ min: 1, max: 1_000_000 }),
  cuFraction: fc.integer({ min: 0, max: 1_000 }), // per mille of full weight; > 1000 = inflated claim
  inflation: fc.integer({ min: 0, max: 5 }),
});

describe("settlement", () => {
  it("rounding never mints more than the fiat price buys, however compute units are claimed", () => {
    fc.assert(
      fc.property(claimArb, (c) => {
        const perRelay = uPoktPerRelay(c.priceMicroUsd, c.rateMicroUsdPerPokt);
        const full = BigInt(c.relays) * BigInt(c.computeUnitsPerRelay);
        const claimed = (full * BigInt(c.cuFraction)) / 1000n + full * BigInt(c.inflation);
        const mint = mintForClaim(
          { relays: c.relays, computeUnits: claimed },
          { uPoktPerRelay: perRelay, computeUnitsPerRelay: c.computeUnitsPerRelay },
        );
        expect(mint >= 0n).toBe(true);
        expect(
          mint * BigInt(c.rateMicroUsdPerPokt) <= BigInt(c.priceMicroUsd) * BigInt(c.relays) * 1_000_000n,
        ).toBe(true);
        expect(mint <= BigInt(c.relays) * perRelay).toBe(true);
      }),
    );
  });

  it("image claims mint the price of each standard image, capped at the tier's largest call", () => {
    fc.assert(
      fc.property(
        claimArb,
        fc.integer({ min: 1, max: 64 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 40 }),
        (c, maxUnits, units) => {
          const pin = pinPrice(
            { ...c, tierId: "standard", maxComputeUnitsPerRelay: c.computeUnitsPerRelay * maxUnits },
            { weekId: c.weekId, rateMicroUsdPerPokt: c.rateMicroUsdPerPokt },
          );
          const tier = { computeUnitsPerRelay: c.computeUnitsPerRelay };
          const allowed = units.map((u) => Math.min(u, maxUnits));
          const cu = allowed.reduce(
            (s, u) =>
              s +
              BigInt(
                relayComputeUnits(tier, { inputTokens: 0, outputTokens: 0, standardUnits: u }, "per-call"),
              ),
            0n,
          );
          const images = BigInt(allowed.reduce((s, u) => s + u, 0));
          const mint = mintForClaim({ relays: units.length, computeUnits: cu }, pin);
          expect(mint).toBe(images * BigInt(pin.uPoktPerRelay));
          expect(mint * BigInt(c.rateMicroUsdPerPokt) <= images * BigInt(c.priceMicroUsd) * 1_000_000n).toBe(
            true,
          );
          const inflated = mintForClaim({ relays: units.length, computeUnits: cu * 1000n }, pin);
          expect(inflated <= BigInt(units.length * maxUnits) * BigInt(pin.uPoktPerRelay)).toBe(true);
        },
      ),
    );
  });

  it("per-call claims mint exactly relays × RTTM; per-token claims never more", () => {
    fc.assert(
      fc.property(
        claimArb,
        fc.array(fc.record({ inputTokens: fc.nat({ max: 400 }), outputTokens: fc.nat({ max: 2000 }) }), {
          minLength: 1,
          maxLength: 50,
        }),
        (c, usages) => {
          const pin = pinPrice(
            { ...c, tierId: "standard" },
            { weekId: c.weekId, rateMicroUsdPerPokt: c.rateMicroUsdPerPokt },
          );
          const tier = { computeUnitsPerRelay: c.computeUnitsPerRelay };
          const perCall = usages.reduce((s, u) => s + BigInt(relayComputeUnits(tier, u, "per-call")), 0n);
          const perToken = usages.reduce((s, u) => s + BigInt(relayComputeUnits(tier, u, "per-token")), 0n);
          const relays = usages.length;
          expect(mintForClaim({ relays, computeUnits: perCall }, pin)).toBe(
            BigInt(relays) * BigInt(pin.uPoktPerRelay),
          );
          expect(
            mintForClaim({ relays, computeUnits: perToken }, pin) <=
              BigInt(relays) * BigInt(pin.uPoktPerRelay),
          ).toBe(true);
        },
      ),
    );
  });

  it("minted == charged == burned, per week and per service, for any mix of claims", () => {
    fc.assert(
      fc.property(fc.array(claimArb, { maxLength: 60 }), (claims) => {
        const mints: MintRecord[] = claims.map((c) => ({
          operator: c.operator,
          serviceId: c.serviceId,
          weekId: c.weekId,
          uPokt: mintForClaim(
            { relays: c.relays, computeUnits: BigInt(c.relays) * BigInt(c.computeUnitsPerRelay) },
            {
              uPoktPerRelay: uPoktPerRelay(c.priceMicroUsd, c.rateMicroUsdPerPokt),
              computeUnitsPerRelay: c.computeUnitsPerRelay,
            },
          ),
        }));
        const tally = weeklyTally(mints);
        assertTallyBalanced(tally, mints);
        const totalMinted = mints.reduce((s, m) => s + BigInt(m.uPokt), 0n);
        expect(tally.reduce((s, r) => s + r.burned, 0n)).toBe(totalMinted);
        expect(tally.reduce((s, r) => s + r.mints, 0)).toBe(mints.length);
      }),
    );
  });

  it("assertTallyBalanced names an imbalance", () => {
    const mints: MintRecord[] = [
      { operator: "a", serviceId: "llama-2-13b", weekId: "2026-W48", uPokt: "3000" },
    ];
    const [row] = weeklyTally(mints);
    expect(() => assertTallyBalanced([{ ...row!, burned: 2999n }])).toThrow(/burned 2999/);
    expect(() => assertTallyBalanced([{ ...row!, charged: 1n, burned: 1n }])).toThrow(/charged 1/);
    expect(() => assertTallyBalanced(weeklyTally(mints), [...mints, ...mints])).toThrow(
      /minted 6000 but burned 3000/,
    );
  });

  it("reads stored amounts as decimal digits only, never as 0 or hexadecimal", () => {
    const pin = { uPoktPerRelay: "3000", computeUnitsPerRelay: 750 };
    expect(mintForClaim({ relays: 2, computeUnits: "1500" }, pin)).toBe(6000n);
    const record = { operator: "a", serviceId: "llama-2-13b", weekId: "2026-W48" };
    for (const text of ["", " 1500", "0x10", "1e3", "1.5", "0b1", "-"]) {
      expect(() => mintForClaim({ relays: 2, computeUnits: text }, pin), text).toThrow(RangeError);
      expect(
        () => mintForClaim({ relays: 2, computeUnits: "1500" }, { ...pin, uPoktPerRelay: text }),
        text,
      ).toThrow(RangeError);
      expect(() => weeklyTally([{ ...record, uPokt: text }]), text).toThrow(RangeError);
      expect(() => assertTallyBalanced([], [{ ...record, uPokt: text }]), text).toThrow(RangeError);
    }
  });

  it("pinned prices survive JSON and refuse a tampered multiplier", () => {
    const pin = pinPrice(
      { serviceId: "llama-2-13b", tierId: "batch", priceMicroUsd: 500, computeUnitsPerRelay: 4600 },
      { weekId: "2026-W48", rateMicroUsdPerPokt: 250_000 },
    );
    expect(PinnedPrice.parse(JSON.parse(JSON.stringify(pin)))).toEqual(pin);
    expect(pin.uPoktPerRelay).toBe("2000");
    expect(PinnedPrice.safeParse({ ...pin, uPoktPerRelay: "2001" }).success).toBe(false);
    expect(PinnedPrice.safeParse({ ...pin, maxComputeUnitsPerRelay: 4599 }).success).toBe(false);
  });

  it("formatPokt and parsePokt are inverse", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), (u) => {
        expect(parsePokt(formatPokt(u))).toBe(u);
      }),
    );
  });
});
