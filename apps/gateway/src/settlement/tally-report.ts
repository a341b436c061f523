import { csvField } from "../app/csv-field.js";
import type { WeeklySettlementTally } from "./settlement-tally.js";

/** The formats a weekly report is exported in. */
export const REPORT_FORMATS = ["csv", "json"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

const CSV_COLUMNS = [
  "week_id",
  "operator",
  "service_id",
  "claims",
  "relays_proven",
  "compute_units",
  "minted_upokt",
  "charged_upokt",
  "burned_upokt",
  "minted_pokt",
  "burned_pokt",
  "rate_micro_usd_per_pokt",
  "fiat_micro_usd",
  "bedrock_equivalent_micro_usd",
  "bedrock_excluded_relays",
] as const;

/**
 * The tally as CSV: a header row, then one row per (operator, service), CRLF line ends. Amounts are
 * whole uPOKT and µUSD (the POKT columns are the same amounts written in POKT), so a spreadsheet
 * sums them without rounding. An image service's Bedrock equivalent is empty (not applicable) and
 * its relays are counted in `bedrock_excluded_relays`.
 */
export function tallyCsv(tally: WeeklySettlementTally): string {
  const lines = tally.rows.map((r) =>
    [
      tally.weekId,
      r.operator,
      r.serviceId,
      r.claims,
      r.relaysProven,
      r.computeUnits,
      r.mintedUpokt,
      r.chargedUpokt,
      r.burnedUpokt,
      r.mintedPokt,
      r.burnedPokt,
      tally.rateMicroUsdPerPokt,
      r.fiatMicroUsd,
      r.bedrockEquivalentMicroUsd,
      r.bedrockExcludedRelays,
    ]
      .map(csvField)
      .join(","),
  );
  return [CSV_COLUMNS.join(","), ...lines].map((l) => `${l}\r\n`).join("");
}

/** The tally as JSON (amounts are already decimal strings), with a trailing newline. */
export function tallyJson(tally: WeeklySettlementTally): string {
  return `${JSON.stringify(tally, null, 2)}\n`;
}

export function formatTally(tally: WeeklySettlementTally, format: ReportFormat): string {
  return format === "csv" ? tallyCsv(tally) : tallyJson(tally);
}
