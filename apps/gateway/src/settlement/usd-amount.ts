/**
 * US dollars written in decimal, to and from integer micro-USD, by string arithmetic only: a
 * float would turn $0.29 into 289,999 µUSD.
 */

const USD = /^\$?(0|[1-9][0-9]{0,8})(?:\.([0-9]{1,6}))?$/;

/**
 * `"0.25"`, `"$0.25"`, `"1"`, `"$4.5"` → µUSD (250_000, 250_000, 1_000_000, 4_500_000). At most
 * 6 decimals and 9 integer digits (a safe integer of µUSD); no sign, exponent, separators or blanks. Throws `SyntaxError`.
 */
export function parseUsd(text: string): number {
  const m = USD.exec(text.trim());
  if (m === null) {
    throw new SyntaxError(`"${text}" is not a dollar amount like 0.25 or $0.25 (at most 6 decimals)`);
  }
  return Number(m[1]) * 1_000_000 + Number((m[2] ?? "").padEnd(6, "0"));
}

/** µUSD as dollars without trailing zeros: 250_000 → "0.25", 3_000_000 → "3", 750 → "0.00075". */
export function formatUsd(microUsd: bigint | number): string {
  const v = BigInt(microUsd);
  const sign = v < 0n ? "-" : "";
  const abs = v < 0n ? -v : v;
  const fraction = (abs % 1_000_000n).toString().padStart(6, "0").replace(/0+$/, "");
  const whole = (abs / 1_000_000n).toString();
  return fraction === "" ? `${sign}${whole}` : `${sign}${whole}.${fraction}`;
}
