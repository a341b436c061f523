/**
 * uPOKT in one POKT: 1 POKT = 1,000,000 uPOKT.
 *
 * @example
 * ```ts
 * 3000n * 100_000n / UPOKT_PER_POKT; // 300n POKT
 * ```
 */
export const UPOKT_PER_POKT = 1_000_000n;

/**
 * micro-USD (µUSD) in one US dollar: $0.00075 = 750 µUSD.
 *
 * @example
 * ```ts
 * MICRO_USD_PER_USD; // 1_000_000n
 * ```
 */
export const MICRO_USD_PER_USD = 1_000_000n;

/**
 * An integer money input (`number` must be a safe integer; text, as stored or sent, must be decimal
 * digits: `BigInt` alone would read `""` as 0 and `"0x10"` as 16). Internal helper.
 */
export function wholeAmount(name: string, value: bigint | number | string, min = 0n): bigint {
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new RangeError(`${name} must be a safe integer, got ${value}`);
  }
  if (typeof value === "string" && !/^-?[0-9]{1,78}$/.test(value)) {
    throw new RangeError(`${name} must be a whole number in decimal digits, got "${value.slice(0, 40)}"`);
  }
  const v = BigInt(value);
  if (v < min) throw new RangeError(`${name} must be >= ${min}, got ${v}`);
  return v;
}

/**
 * An amount of uPOKT written in POKT, exactly: no trailing zeros, no float.
 *
 * @example
 * ```ts
 * formatPokt(3000n); // "0.003"
 * formatPokt(300_000_000n); // "300"
 * formatPokt(-1_500_000n); // "-1.5"
 * ```
 */
export function formatPokt(uPokt: bigint): string {
  const sign = uPokt < 0n ? "-" : "";
  const abs = uPokt < 0n ? -uPokt : uPokt;
  const whole = abs / UPOKT_PER_POKT;
  const fraction = (abs % UPOKT_PER_POKT).toString().padStart(6, "0").replace(/0+$/, "");
  return fraction === "" ? `${sign}${whole}` : `${sign}${whole}.${fraction}`;
}

/**
 * POKT written in decimal (at most 6 fraction digits) as uPOKT. Throws `SyntaxError` otherwise.
 *
 * @example
 * ```ts
 * parsePokt("0.003"); // 3000n
 * parsePokt("300"); // 300_000_000n
 * ```
 */
export function parsePokt(pokt: string): bigint {
  const m = /^(-?)(0|[1-9][0-9]*)(?:\.([0-9]{1,6}))?$/.exec(pokt);
  if (m === null) throw new SyntaxError(`parsePokt: "${pokt}" is not POKT with at most 6 decimals`);
  const abs = BigInt(m[2]!) * UPOKT_PER_POKT + BigInt((m[3] ?? "").padEnd(6, "0"));
  return m[1] === "-" ? -abs : abs;
}
