import {
  assertTallyBalanced,
  bedrockEquivalentMicroUsd,
  formatPokt,
  type MintRecord,
  microUsdOfUPokt,
  sessionNumberAt,
  sessionWindow,
  type TallyRow,
  WeeklyRate,
  weeklyTally,
  weekStartMs,
} from "@pocket-ai/protocol";
import { Clock, Effect } from "effect";
import type { StorageError } from "../db/database.js";
import { CLAIM_EXPIRY_SLACK_MS } from "./claim-expiry.js";
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
  /**
   * What the same text tokens would cost at the seed's Bedrock prices (Llama 2 13B, per text
   * token); null without text relays. It leaves out the relays counted in `bedrockExcludedRelays`.
   */
  readonly bedrockEquivalentMicroUsd: string | null;
  /** Proven relays the Bedrock equivalent does not cover: image and embedding relays, which those prices do not price. */
  readonly bedrockExcludedRelays: number;
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
  /** Whether the tally can still change, and until when (see {@link weekFinality}). */
  readonly finality: WeekFinality;
}

/**
 * When a week's tally stops changing. `claimsUntil`: the last moment a claim of the week can be
 * stored (the claim window of the week's last session, or of the rate if it was set later);
 * `proofsUntil`: the last moment such a claim can be proven; `finalAt`: that plus the expiry's
 * slack (a proof accepted just in time settles, then the unproven claims are rejected). After
 * `finalAt`, with no claim left awaiting its proof, the tally is `final`: no claim of the week can
 * come or settle any more, and the week's rate can no longer change. All three are null while the
 * week has no POKT rate: its claims are refused until one is set, and a rate set later opens a
 * full claim window from then.
 */
export interface WeekFinality {
  readonly final: boolean;
  readonly claimsUntil: number | null;
  readonly proofsUntil: number | null;
  readonly finalAt: number | null;
}

const WEEK_MS = 7 * 86_400_000;

/**
 * A week's {@link WeekFinality} at `now`, from the settlement windows and the week's rate;
 * `awaitingProof`: the week's claims still `claimed` (a failed expiry leaves some).
 */
export function weekFinality(
  weekId: string,
  rate: { readonly setAt: number } | undefined,
  deps: Pick<SettlementDeps, "identity" | "config">,
  now: number,
  awaitingProof = 0,
): WeekFinality {
  if (rate === undefined) return { final: false, claimsUntil: null, proofsUntil: null, finalAt: null };
  const { session } = deps.identity;
  const { claimWindowMs, proofWindowMs } = deps.config;
  // The week's claims are those of sessions that start in it: the last one ends after the week.
  const lastInstant = weekStartMs(weekId) + WEEK_MS - 1;
  const lastEnd =
    lastInstant < session.genesisMs
      ? session.genesisMs
      : sessionWindow(session, sessionNumberAt(session, lastInstant)).end;
  const claimsUntil = Math.max(lastEnd + session.graceMs, rate.setAt) + claimWindowMs;
  const proofsUntil = claimsUntil + proofWindowMs;
  const finalAt = proofsUntil + CLAIM_EXPIRY_SLACK_MS;
  return { final: now > finalAt && awaitingProof === 0, claimsUntil, proofsUntil, finalAt };
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
  /** Relays of services with no generated text (images, embeddings): outside the Bedrock comparison. */
  untokened: number;
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
  untokened: 0,
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
  untokened: a.untokened + b.untokened,
});

/** Whether an id the pattern accepts names a week its year has (`2025-W53` does not). */
function weekExists(weekId: string): boolean {
  try {
    weekStartMs(weekId);
    return true;
  } catch {
    return false;
  }
}

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
  bedrockExcludedRelays: s.untokened,
});

export function makeWeeklyTally(
  deps: SettlementDeps,
  expireClaims: (now: number) => Effect.Effect<number, StorageError>,
) {
  const { use, identity } = deps;
  return Effect.fn("Settlement.weeklyTally")(function* (weekId: string) {
    if (!WeeklyRate.shape.weekId.safeParse(weekId).success || !weekExists(weekId)) {
      return yield* new InvalidSettlementInput({ detail: `"${weekId}" is not an ISO week id like 2026-W48` });
    }
    const now = yield* Clock.currentTimeMillis;
    // Claims whose proof window closed are rejected first: what awaits a proof still can be proven.
    // A failed expiry does not fail the tally: those claims still count as awaiting proof.
    yield* Effect.ignore(expireClaims(now));
    // Read in one transaction, so the claims, the rate and the tokens are one consistent state.
    const { rows, rateRow, tokens } = yield* use("claims.weekTally", (db) =>
      db.transaction(async (tx) => ({
        rows: await claimsOfWeek(tx, weekId),
        rateRow: await findRate(tx, weekId),
        tokens: await provenTextTokens(tx, weekId),
      })),
    );
    const rate = rateRow?.rateMicroUsdPerPokt ?? null;
    const awaiting = rows.filter((r) => r.status === "claimed").length;
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
      // What was paid for: a claim above the ledger is minted for the ledger's relays only.
      const relays = mine.reduce((n, r) => n + (r.paidRelays ?? r.relayCount), 0);
      return [
        t,
        {
          claims: t.mints,
          relays,
          cu: mine.reduce((n, r) => n + BigInt(r.paidComputeUnits ?? r.computeUnits), 0n),
          minted: t.minted,
          charged: t.charged,
          burned: t.burned,
          input: text?.inputTokens ?? 0,
          output: text?.outputTokens ?? 0,
          text: text !== undefined,
          untokened: text === undefined ? relays : 0,
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
        claimed: awaiting,
        rejected: rows.filter((r) => r.status === "rejected").length,
      },
      finality: weekFinality(weekId, rateRow, deps, now, awaiting),
    };
    return report;
  });
}
