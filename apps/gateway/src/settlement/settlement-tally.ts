import {
  assertTallyBalanced,
  bedrockEquivalentMicroUsd,
  formatPokt,
  type MintRecord,
  microUsdOfUPokt,
  type TallyRow,
  WeeklyRate,
  weeklyTally,
} from "@pocket-ai/protocol";
import { Effect } from "effect";
import { claimsOfWeek, findRate } from "./claim-store.js";
import { InvalidSettlementInput } from "./errors.js";
import { provenTextTokens } from "./relay-ledger.js";
import type { SettlementDeps } from "./settlement-deps.js";
import { formatUsd } from "./usd-amount.js";

/** Amounts of one tally line (uPOKT and µUSD as decimal strings: JSON has no bigint). */
export interface TallyAmounts {
  /** Proven claims summed. */
  readonly claims: number;
  readonly relaysProven: number;
  /** Compute units of the proven claims; 1 CU = 1 µUSD, so this is the relays' fiat price. */
  readonly computeUnits: string;
  readonly mintedUpokt: string;
  /** What the portal operator is charged: exactly the mint. */
  readonly chargedUpokt: string;
  /** What is burned: exactly the charge, so the week adds no POKT. */
  readonly burnedUpokt: string;
  readonly mintedPokt: string;
  readonly burnedPokt: string;
  /** The burn's worth at the week's rate, in µUSD (rounded down). */
  readonly fiatMicroUsd: string;
  /** What the same text tokens would cost at the seed's Bedrock prices; null without text relays. */
  readonly bedrockEquivalentMicroUsd: string | null;
}

export interface TallyLine extends TallyAmounts {
  readonly operator: string;
  readonly serviceId: string;
}

/** The week's settlement for this gateway's portal operator: per service, and in total. */
export interface WeeklySettlementTally {
  readonly weekId: string;
  readonly operator: string;
  readonly gatewayAddress: string;
  readonly rateMicroUsdPerPokt: number | null;
  readonly usdPerPokt: string | null;
  readonly rows: readonly TallyLine[];
  readonly totals: TallyAmounts;
  /** Claims of the week not (yet) minted: awaiting their proof, or rejected. */
  readonly unsettled: { readonly claimed: number; readonly rejected: number };
}

interface Sums {
  claims: number;
  relays: number;
  cu: bigint;
  minted: bigint;
  charged: bigint;
  burned: bigint;
  input: number;
  output: number;
  text: boolean;
}

const NO_SUMS: Sums = {
  claims: 0,
  relays: 0,
  cu: 0n,
  minted: 0n,
  charged: 0n,
  burned: 0n,
  input: 0,
  output: 0,
  text: false,
};

const addSums = (a: Sums, b: Sums): Sums => ({
  claims: a.claims + b.claims,
  relays: a.relays + b.relays,
  cu: a.cu + b.cu,
  minted: a.minted + b.minted,
  charged: a.charged + b.charged,
  burned: a.burned + b.burned,
  input: a.input + b.input,
  output: a.output + b.output,
  text: a.text || b.text,
});

const amounts = (s: Sums, rate: number | null): TallyAmounts => ({
  claims: s.claims,
  relaysProven: s.relays,
  computeUnits: s.cu.toString(),
  mintedUpokt: s.minted.toString(),
  chargedUpokt: s.charged.toString(),
  burnedUpokt: s.burned.toString(),
  mintedPokt: formatPokt(s.minted),
  burnedPokt: formatPokt(s.burned),
  fiatMicroUsd: rate === null ? "0" : microUsdOfUPokt(s.burned, rate).toString(),
  bedrockEquivalentMicroUsd: s.text ? bedrockEquivalentMicroUsd(s.input, s.output).toString() : null,
});

export function makeWeeklyTally({ use, identity }: SettlementDeps) {
  return Effect.fn("Settlement.weeklyTally")(function* (weekId: string) {
    if (!WeeklyRate.shape.weekId.safeParse(weekId).success) {
      return yield* new InvalidSettlementInput({ detail: `"${weekId}" is not an ISO week id like 2026-W48` });
    }
    // Read in one transaction, so the claims, the rate and the tokens are one consistent state.
    const { rows, rate, tokens } = yield* use("claims.weekTally", (db) =>
      db.transaction(async (tx) => ({
        rows: await claimsOfWeek(tx, weekId),
        rate: (await findRate(tx, weekId))?.rateMicroUsdPerPokt ?? null,
        tokens: await provenTextTokens(tx, weekId),
      })),
    );
    const proven = rows.filter((r) => r.status === "proven");
    const mints: MintRecord[] = proven.map((r) => ({
      operator: identity.operator,
      serviceId: r.serviceId,
      weekId,
      uPokt: r.mintedUpokt,
    }));
    const tally = weeklyTally(mints);
    assertTallyBalanced(tally, mints); // a throw here is a defect: the books must balance

    const sums = tally.map((t): [TallyRow, Sums] => {
      const mine = proven.filter((p) => p.serviceId === t.serviceId);
      const text = tokens.get(t.serviceId);
      return [
        t,
        {
          claims: t.mints,
          // What was paid for: a claim above the ledger is minted for the ledger's relays only.
          relays: mine.reduce((n, r) => n + (r.paidRelays ?? r.relayCount), 0),
          cu: mine.reduce((n, r) => n + BigInt(r.paidComputeUnits ?? r.computeUnits), 0n),
          minted: t.minted,
          charged: t.charged,
          burned: t.burned,
          input: text?.inputTokens ?? 0,
          output: text?.outputTokens ?? 0,
          text: text !== undefined,
        },
      ];
    });
    const total = sums.map(([, s]) => s).reduce(addSums, NO_SUMS);
    const lines = sums.map(
      ([t, s]): TallyLine => ({ operator: t.operator, serviceId: t.serviceId, ...amounts(s, rate) }),
    );
    const report: WeeklySettlementTally = {
      weekId,
      operator: identity.operator,
      gatewayAddress: identity.address,
      rateMicroUsdPerPokt: rate,
      usdPerPokt: rate === null ? null : formatUsd(rate),
      rows: lines,
      totals: amounts(total, rate),
      unsettled: {
        claimed: rows.filter((r) => r.status === "claimed").length,
        rejected: rows.filter((r) => r.status === "rejected").length,
      },
    };
    return report;
  });
}
