import { parseArgs } from "node:util";
import { weekIdOf } from "@pocket-ai/protocol";
import { createTRPCUntypedClient, httpLink } from "@trpc/client";
import { Clock, Data, Duration, Effect } from "effect";
import { adminCallFailure, adminCallTimedOut } from "../app/admin-call-failure.js";
import { SETTLEMENT_USAGE } from "../cli/command-usage.js";
import { CLAIM_STATUSES, type ClaimRecord, MAX_CLAIMS_LISTED, WEEK_ID_PATTERN } from "./claim-record.js";
import { formatClaimsText, formatRatesText, formatTallyText } from "./settlement-cli-text.js";
import type { WeeklySettlementTally } from "./settlement-tally.js";
import { parseUsd } from "./usd-amount.js";
import type { WeeklyRateRecord } from "./weekly-rates.js";

export { SETTLEMENT_USAGE };

/** A settlement command failed: bad arguments (`usage`), or the admin API refused or was unreachable. */
export class SettlementCommandError extends Data.TaggedError("SettlementCommandError")<{
  readonly reason: string;
  readonly usage: boolean;
}> {
  override get message(): string {
    return this.usage ? `${this.reason}\n\n${SETTLEMENT_USAGE}` : this.reason;
  }
}

/** Where the admin tRPC API is (e.g. `http://127.0.0.1:8080/trpc`) and the operator's admin token. */
export interface AdminClientOptions {
  readonly adminUrl: string;
  readonly token: string;
}

const CALL_TIMEOUT = Duration.seconds(30);
const usageError = (reason: string) => new SettlementCommandError({ reason, usage: true });

/**
 * Runs `tally`, `rates set`, `rates list` or `claims list` against a running gateway's admin API
 * (procedures under `admin.settlement.`) and returns the text to print.
 */
export function runSettlementCommand(
  args: readonly string[],
  client: AdminClientOptions,
): Effect.Effect<string, SettlementCommandError> {
  return Effect.gen(function* () {
    const parsed = yield* Effect.try({
      try: () =>
        parseArgs({
          args: [...args],
          allowPositionals: true,
          options: {
            week: { type: "string" },
            format: { type: "string" },
            "usd-per-pokt": { type: "string" },
            status: { type: "string" },
            limit: { type: "string" },
          },
        }),
      catch: (e) => usageError((e as Error).message),
    });
    const { values } = parsed;
    const command = parsed.positionals.join(" ");
    const api = adminApi(client);
    if (values.week !== undefined && !WEEK_ID_PATTERN.test(values.week))
      return yield* usageError(`--week must be an ISO week like 2026-W48, not ${values.week}`);
    const week = values.week ?? weekIdOf(yield* Clock.currentTimeMillis);

    if (command === "tally") {
      const format = values.format ?? "text";
      if (format === "csv" || format === "json") {
        return yield* api.query<string>("report.export", { weekId: week, format });
      }
      if (format !== "text") return yield* usageError(`--format must be text, csv or json, not ${format}`);
      return formatTallyText(yield* api.query<WeeklySettlementTally>("tally.week", { weekId: week }));
    }
    if (command === "rates set") {
      if (values.week === undefined) return yield* usageError("rates set needs --week (e.g. 2026-W48)");
      const usd = values["usd-per-pokt"];
      if (usd === undefined) return yield* usageError("rates set needs --usd-per-pokt (e.g. 0.25)");
      const rateMicroUsdPerPokt = yield* Effect.try({
        try: () => parseUsd(usd),
        catch: (e) => usageError(`--usd-per-pokt: ${(e as Error).message}`),
      });
      const rate = yield* api.mutation<WeeklyRateRecord>("rates.set", { weekId: week, rateMicroUsdPerPokt });
      return `POKT rate of ${rate.weekId} set to $${rate.usdPerPokt} (${rate.rateMicroUsdPerPokt} µUSD per POKT)`;
    }
    if (command === "rates list") return formatRatesText(yield* api.query<WeeklyRateRecord[]>("rates.list"));
    if (command === "claims list") {
      const limit = values.limit === undefined ? undefined : Number(values.limit);
      if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 1 && limit <= MAX_CLAIMS_LISTED))
        return yield* usageError(`--limit must be a whole number from 1 to ${MAX_CLAIMS_LISTED}`);
      const status = values.status;
      if (status !== undefined && !(CLAIM_STATUSES as readonly string[]).includes(status))
        return yield* usageError(`--status must be ${CLAIM_STATUSES.join(", ")}, not ${status}`);
      const format = values.format ?? "text";
      if (format !== "text" && format !== "json")
        return yield* usageError(`--format must be text or json, not ${format}`);
      const claims = yield* api.query<ClaimRecord[]>("claims.list", {
        ...(values.week === undefined ? {} : { weekId: values.week }),
        ...(status === undefined ? {} : { status }),
        ...(limit === undefined ? {} : { limit }),
      });
      return format === "json" ? `${JSON.stringify(claims, null, 2)}\n` : formatClaimsText(claims);
    }
    return yield* usageError(`unknown settlement command "${command}"`);
  });
}

function adminApi(options: AdminClientOptions) {
  const trpc = createTRPCUntypedClient({
    links: [httpLink({ url: options.adminUrl, headers: { authorization: `Bearer ${options.token}` } })],
  });
  const call = <A>(kind: "query" | "mutation", path: string, input: unknown) =>
    Effect.tryPromise({
      try: (signal) => trpc[kind](`admin.settlement.${path}`, input, { signal }) as Promise<A>,
      catch: (e) =>
        new SettlementCommandError({ reason: adminCallFailure(e, options.adminUrl), usage: false }),
    }).pipe(
      Effect.timeoutFail({
        duration: CALL_TIMEOUT,
        onTimeout: () =>
          new SettlementCommandError({
            reason: adminCallTimedOut(options.adminUrl, Duration.toSeconds(CALL_TIMEOUT)),
            usage: false,
          }),
      }),
    );
  return {
    query: <A>(path: string, input?: unknown) => call<A>("query", path, input),
    mutation: <A>(path: string, input?: unknown) => call<A>("mutation", path, input),
  };
}
