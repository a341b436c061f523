import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair, MICRO_USD_PER_USD, weekIdOf } from "@pocket-ai/protocol";
import { Effect, Layer, ManagedRuntime, TestClock, TestContext } from "effect";
import fc from "fast-check";
import { afterAll, expect, it } from "vitest";
import {
  claimTime,
  HOUR,
  type LedgerRelay,
  ledgerRelays,
  nodeClaim,
  nodeProof,
  registerNode,
  sessionAt,
  writeLedger,
} from "../../test/support/settlement-fixtures.js";
import { SettlementTestServices } from "../../test/support/settlement-test-layer.js";
import { GatewayStore } from "../db/database.js";
import { Settlement } from "./settlement.js";

const dir = mkdtempSync(join(tmpdir(), "pocket-settlement-prop-"));
const runtime = ManagedRuntime.make(
  SettlementTestServices.pipe(
    Layer.provideMerge(GatewayStore.layer({ file: join(dir, "s.sqlite") })),
    Layer.provideMerge(TestContext.TestContext),
  ),
);
afterAll(async () => {
  await runtime.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const WEEK_MS = 7 * 24 * HOUR;
const FIRST_MONDAY = Date.UTC(2027, 0, 4); // 2027-W01
let run = 0;

const Session = fc.record({
  service: fc.constantFrom("llama-2-13b", "mistral-7b", "stable-diffusion"),
  // Per-relay compute units (= µUSD): text tiers, per-token weights, images of 1–4 standard units.
  weights: fc.array(fc.constantFrom(1, 114, 500, 750, 2560, 18_000, 72_000), { minLength: 1, maxLength: 30 }),
  hour: fc.integer({ min: 0, max: 6 * 24 }),
  claimFewer: fc.nat({ max: 3 }),
});

it("minted == charged == burned for any week of claims and any rate, and each mint is the fiat rule", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 0xffff_ffff }),
      fc.array(Session, { minLength: 1, maxLength: 6 }),
      (rate, sessions) =>
        runtime.runPromise(
          Effect.gen(function* () {
            const settlement = yield* Settlement;
            const monday = FIRST_MONDAY + run++ * WEEK_MS; // a fresh week per run: rates are final once pinned
            const headers = sessions.map((s) => sessionAt(monday + s.hour * HOUR, s.service));
            const week = weekIdOf(monday);
            yield* settlement.setWeeklyRate(week, rate);
            let expected = 0n;
            for (const [i, s] of sessions.entries()) {
              const header = headers[i]!;
              const node = generateKeyPair();
              yield* registerNode(node);
              const ledger: LedgerRelay[] = ledgerRelays(header, s.weights.length).map((l, j) => ({
                ...l,
                computeUnits: s.weights[j]!,
              }));
              yield* writeLedger(header, node.address, ledger);
              const kept = ledger.slice(0, Math.max(1, ledger.length - s.claimFewer));
              const { tree, root, submission } = nodeClaim(node, header, kept);
              yield* TestClock.setTime(claimTime(header));
              const ack = yield* settlement.submitClaim(JSON.parse(JSON.stringify(submission)));
              const proven = yield* settlement.submitProof(
                JSON.parse(JSON.stringify(nodeProof(node, header, tree, ack.leafIndex))),
              );
              const rule = (BigInt(root.computeUnits) * MICRO_USD_PER_USD) / BigInt(rate);
              expect(proven).toMatchObject({ status: "proven", mintedUpokt: rule.toString() });
              expected += rule;
            }
            const tally = yield* settlement.weeklyTally(week);
            const sum = (k: "mintedUpokt" | "chargedUpokt" | "burnedUpokt") =>
              tally.rows.reduce((n, r) => n + BigInt(r[k]), 0n);
            expect(sum("mintedUpokt")).toBe(expected);
            expect(sum("chargedUpokt")).toBe(expected);
            expect(sum("burnedUpokt")).toBe(expected);
            expect(tally.totals.burnedUpokt).toBe(expected.toString());
            expect(tally.totals.claims).toBe(sessions.length);
          }),
        ),
    ),
    { numRuns: 40 },
  );
});

const Claim = fc.record({
  service: fc.constantFrom("llama-2-13b", "stable-diffusion"),
  weights: fc.array(fc.constantFrom(1, 282, 500, 750, 18_000, 72_000), { minLength: 1, maxLength: 12 }),
  // Any hour of the week, Sunday 23:00 (a session that ends at the next week's first instant) too.
  hour: fc.integer({ min: 0, max: 7 * 24 - 1 }),
  // What the node does: claims honestly, pads its claim with relays the gateway never verified
  // (and weighs them heavily), claims one verified leaf many times over, or never proves.
  kind: fc.constantFrom("honest", "padded", "repeated", "unproven"),
});

it("no claim mints more than the ledger verified, unproven claims mint nothing, and the final week balances", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 0xffff_ffff }),
      fc.array(Claim, { minLength: 1, maxLength: 5 }),
      (rate, claims) =>
        runtime.runPromise(
          Effect.gen(function* () {
            const settlement = yield* Settlement;
            const monday = FIRST_MONDAY + run++ * WEEK_MS;
            const week = weekIdOf(monday);
            yield* settlement.setWeeklyRate(week, rate);
            let minted = 0n;
            let last = 0;
            for (const c of claims) {
              const header = sessionAt(monday + c.hour * HOUR, c.service);
              expect(weekIdOf(header.sessionStart)).toBe(week);
              const node = generateKeyPair();
              yield* registerNode(node);
              const ledger: LedgerRelay[] = ledgerRelays(header, c.weights.length).map((l, j) => ({
                ...l,
                computeUnits: c.weights[j]!,
              }));
              yield* writeLedger(header, node.address, ledger);
              const ledgerCu = ledger.reduce((n, l) => n + BigInt(l.computeUnits), 0n);
              const heaviest = ledger.reduce((a, b) => (b.computeUnits > a.computeUnits ? b : a));
              const leaves =
                c.kind === "padded"
                  ? [...ledger, ...ledgerRelays(header, 3, 72_000, "forged")]
                  : c.kind === "repeated"
                    ? // Distinct hashes are all the tree builder takes: the node repeats the one
                      // verified leaf it can prove by giving it different hashes next to it.
                      [heaviest, ...ledgerRelays(header, ledger.length * 4, heaviest.computeUnits, "copy")]
                    : ledger;
              const { tree, submission } = nodeClaim(node, header, leaves);
              const at = claimTime(header);
              last = Math.max(last, at);
              yield* TestClock.setTime(at);
              const ack = yield* settlement.submitClaim(JSON.parse(JSON.stringify(submission)));
              if (c.kind === "unproven") continue;
              const settled = yield* settlement.submitProof(
                JSON.parse(JSON.stringify(nodeProof(node, header, tree, ack.leafIndex))),
              );
              const mint = BigInt(settled.mintedUpokt);
              // Never above the fiat value of what this gateway verified for that node and session.
              expect(mint <= (ledgerCu * MICRO_USD_PER_USD) / BigInt(rate)).toBe(true);
              if (c.kind === "honest") expect(settled.status).toBe("proven");
              minted += mint;
            }
            // Past every window (the week's last session's claim window, a proof window, the
            // expiry's slack): the unproven claims are rejected and the week is final.
            yield* TestClock.setTime(Math.max(last, monday + WEEK_MS + 27 * HOUR));
            const tally = yield* settlement.weeklyTally(week);
            expect(tally.unsettled.claimed).toBe(0);
            expect(tally.finality.final).toBe(true);
            expect(tally.totals.mintedUpokt).toBe(minted.toString());
            expect(tally.totals.chargedUpokt).toBe(minted.toString());
            expect(tally.totals.burnedUpokt).toBe(minted.toString());
            const next = yield* settlement.weeklyTally(weekIdOf(monday + WEEK_MS));
            expect(next.totals.mintedUpokt).toBe("0");
          }),
        ),
    ),
    { numRuns: 40 },
  );
});
