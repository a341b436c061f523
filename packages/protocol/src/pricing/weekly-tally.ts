import { wholeAmount } from "./money.js";

/**
 * One mint on a proven claim, attributed to the portal operator whose gateway sent the relays.
 *
 * @example
 * ```ts
 * const m: MintRecord = { operator: "pokt1portal…", serviceId: "llama-2-13b", weekId: "2026-W48", uPokt: 3000n };
 * ```
 */
export interface MintRecord {
  readonly operator: string;
  readonly serviceId: string;
  readonly weekId: string;
  readonly uPokt: bigint | string;
}

/**
 * One row of the weekly tally: what was minted for an operator's relays on a service in a week,
 * what the operator is charged (exactly the minted amount) and what is burned (exactly the charge).
 *
 * @example
 * ```ts
 * const row: TallyRow = { weekId: "2026-W48", operator: "pokt1portal…", serviceId: "llama-2-13b", mints: 1, minted: 3000n, charged: 3000n, burned: 3000n };
 * ```
 */
export interface TallyRow {
  readonly weekId: string;
  readonly operator: string;
  readonly serviceId: string;
  /** Number of mint records summed. */
  readonly mints: number;
  readonly minted: bigint;
  readonly charged: bigint;
  readonly burned: bigint;
}

/**
 * Sums mints per (week, operator, service) into the weekly tally, sorted by week, operator,
 * service. The charge is the amount minted and the burn is the charge, 1:1: the service is not
 * inflationary. Free tiers or promotions are the operator's cost, not the network's.
 *
 * @example
 * ```ts
 * const rows = weeklyTally(Array.from({ length: 100_000 }, () => ({ operator: "xyz", serviceId: "llama-2-13b", weekId: "2026-W48", uPokt: 3000n })));
 * formatPokt(rows[0]!.burned); // "300"
 * ```
 */
export function weeklyTally(mints: readonly MintRecord[]): TallyRow[] {
  const rows = new Map<
    string,
    { weekId: string; operator: string; serviceId: string; mints: number; minted: bigint }
  >();
  for (const m of mints) {
    const key = JSON.stringify([m.weekId, m.operator, m.serviceId]);
    const uPokt = wholeAmount("uPokt", m.uPokt);
    const row = rows.get(key);
    if (row === undefined) {
      rows.set(key, {
        weekId: m.weekId,
        operator: m.operator,
        serviceId: m.serviceId,
        mints: 1,
        minted: uPokt,
      });
    } else {
      row.mints += 1;
      row.minted += uPokt;
    }
  }
  return [...rows.values()]
    .sort((a, b) => cmp(a.weekId, b.weekId) || cmp(a.operator, b.operator) || cmp(a.serviceId, b.serviceId))
    .map((r) => ({ ...r, charged: r.minted, burned: r.minted }));
}

/**
 * Throws an `Error` naming the first imbalance unless, in `tally`, every row's charge equals its
 * mint and its burn its charge, and — when the `mints` it was built from are given — the sum
 * minted in `mints` equals the sum burned in `tally` for every week and for every (week, service).
 *
 * @example
 * ```ts
 * assertTallyBalanced(weeklyTally(mints), mints); // returns; throws if anything is off
 * ```
 */
export function assertTallyBalanced(tally: readonly TallyRow[], mints?: readonly MintRecord[]): void {
  const burned = new Map<string, bigint>();
  for (const row of tally) {
    const where = `${row.weekId} ${row.operator} ${row.serviceId}`;
    if (row.charged !== row.minted)
      throw new Error(`tally: ${where} charged ${row.charged} but minted ${row.minted}`);
    if (row.burned !== row.charged)
      throw new Error(`tally: ${where} burned ${row.burned} but charged ${row.charged}`);
    add(burned, row.weekId, row.burned);
    add(burned, `${row.weekId} ${row.serviceId}`, row.burned);
  }
  if (mints === undefined) return;
  const minted = new Map<string, bigint>();
  for (const m of mints) {
    const uPokt = wholeAmount("uPokt", m.uPokt);
    add(minted, m.weekId, uPokt);
    add(minted, `${m.weekId} ${m.serviceId}`, uPokt);
  }
  for (const key of new Set([...minted.keys(), ...burned.keys()])) {
    const a = minted.get(key) ?? 0n;
    const b = burned.get(key) ?? 0n;
    if (a !== b) throw new Error(`tally: ${key} minted ${a} but burned ${b}`);
  }
}

function add(map: Map<string, bigint>, key: string, amount: bigint): void {
  map.set(key, (map.get(key) ?? 0n) + amount);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
