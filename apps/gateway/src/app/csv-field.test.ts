import { describe, expect, it } from "vitest";
import { tallyCsv } from "../settlement/tally-report.js";
import { csvField } from "./csv-field.js";

describe("CSV fields", () => {
  it("quote what RFC 4180 asks for and never start with a formula", () => {
    expect(csvField("plain")).toBe("plain");
    expect(csvField('a,"b"')).toBe('"a,""b"""');
    expect(csvField("=HYPERLINK(1)")).toBe("'=HYPERLINK(1)");
    expect(csvField("@SUM(A1)")).toBe("'@SUM(A1)");
    expect(csvField("+1,2")).toBe(`"'+1,2"`);
    expect(csvField(-5)).toBe("-5");
    expect(csvField(null)).toBe("");
  });

  it("keep a semicolon inside its field, where spreadsheets that split on it would start a formula", () => {
    // A spreadsheet in a locale whose list separator is `;` splits an unquoted field on it.
    expect(csvField("prod;=HYPERLINK(1)")).toBe('"prod;=HYPERLINK(1)"');
    expect(csvField("a;b")).toBe('"a;b"');
  });

  it("are what the weekly tally's CSV is made of", () => {
    const amounts = {
      claims: 1,
      relaysProven: 2,
      computeUnits: "1500",
      mintedUpokt: "6000",
      chargedUpokt: "6000",
      burnedUpokt: "6000",
      mintedPokt: "0.006",
      burnedPokt: "0.006",
      fiatMicroUsd: "1500",
      bedrockEquivalentMicroUsd: null,
      bedrockExcludedRelays: 0,
    };
    const csv = tallyCsv({
      weekId: "2030-W10",
      operator: "=cmd|' /C calc'!A0",
      gatewayAddress: "pokt1gateway",
      rateMicroUsdPerPokt: 250_000,
      usdPerPokt: "0.25",
      rows: [{ ...amounts, operator: "=cmd|' /C calc'!A0", serviceId: "llama-2-13b" }],
      totals: amounts,
      unsettled: { claimed: 0, rejected: 0 },
      finality: { final: true, claimsUntil: 0, proofsUntil: 0, finalAt: 0 },
    });
    expect(csv.split("\r\n")[1]).toBe(
      "2030-W10,'=cmd|' /C calc'!A0,llama-2-13b,1,2,1500,6000,6000,6000,0.006,0.006,250000,1500,,0",
    );
  });
});
