import { parseArgs } from "node:util";
import { createTRPCClient, httpLink } from "@trpc/client";
import { Data, Duration, Effect } from "effect";
import { ADMIN_USAGE } from "../cli/command-usage.js";
import { formatUsd, parseUsd } from "../settlement/usd-amount.js";
import { adminCallFailure, adminCallTimedOut } from "./admin-call-failure.js";
import type { GatewayAppRouter } from "./routers.js";
import { textTable } from "./text-table.js";

export { ADMIN_USAGE };

export class AdminCommandError extends Data.TaggedError("AdminCommandError")<{
  readonly reason: string;
  readonly usage: boolean;
}> {
  override get message(): string {
    return this.usage ? `${this.reason}\n\n${ADMIN_USAGE}` : this.reason;
  }
}

const usageError = (reason: string) => new AdminCommandError({ reason, usage: true });
const CALL_TIMEOUT = Duration.seconds(30);
const DAY_MS = 86_400_000;

/** Runs one `pocket-gateway admin …` command against a gateway's admin API; returns what to print. */
export function runAdminCommand(
  args: readonly string[],
  api: { readonly url: string; readonly token: string },
) {
  return Effect.gen(function* () {
    const { values, positionals } = yield* Effect.try({
      try: () =>
        parseArgs({
          args: [...args],
          allowPositionals: true,
          options: Object.fromEntries(
            ["name", "operator", "app", "key", "rpm", "tpm", "budget-usd", "role", "days"].map((o) => [
              o,
              { type: "string" },
            ]),
          ) as Record<string, { type: "string" }>,
        }),
      catch: (e) => usageError((e as Error).message),
    });
    const client = createTRPCClient<GatewayAppRouter>({
      links: [httpLink({ url: api.url, headers: { authorization: `Bearer ${api.token}` } })],
    });
    const call = <A>(f: () => Promise<A>) =>
      Effect.tryPromise({
        try: f,
        catch: (e) => new AdminCommandError({ reason: adminCallFailure(e, api.url), usage: false }),
      }).pipe(
        Effect.timeoutFail({
          duration: CALL_TIMEOUT,
          onTimeout: () =>
            new AdminCommandError({
              reason: adminCallTimedOut(api.url, Duration.toSeconds(CALL_TIMEOUT)),
              usage: false,
            }),
        }),
      );
    const need = (name: string) => {
      const value = values[name];
      return typeof value === "string"
        ? Effect.succeed(value)
        : Effect.fail(usageError(`--${name} is required`));
    };
    const count = (name: string) => {
      const value = values[name];
      if (typeof value !== "string") return Effect.succeed(undefined);
      const n = Number(value);
      return Number.isSafeInteger(n) && n > 0
        ? Effect.succeed(n)
        : Effect.fail(usageError(`--${name} must be a positive whole number`));
    };
    const optional = (name: string) =>
      typeof values[name] === "string" ? (values[name] as string) : undefined;

    if (positionals[0] === "portal-admin") {
      const email = positionals[1];
      if (email === undefined || positionals.length > 2)
        return yield* usageError("portal-admin takes one EMAIL");
      const role = optional("role") ?? "admin";
      if (role !== "admin" && role !== "customer")
        return yield* usageError("--role must be admin or customer");
      const changed = yield* call(() => client.admin.portal.setRole.mutate({ email, role }));
      return textTable([changed], ["email", "role"]);
    }
    switch (positionals.join(" ")) {
      case "apps create": {
        const name = yield* need("name");
        const operator = optional("operator");
        const app = yield* call(() =>
          client.admin.applications.create.mutate({ name, ...(operator ? { operator } : {}) }),
        );
        return textTable([app], ["id", "name", "address", "status"]);
      }
      case "apps list":
        return textTable(yield* call(() => client.admin.applications.list.query()), [
          "id",
          "name",
          "operator",
          "address",
          "status",
          "createdAt",
        ]);
      case "apps disable": {
        const applicationId = yield* need("app");
        return textTable(
          [yield* call(() => client.admin.applications.disable.mutate({ applicationId }))],
          ["id", "name", "status"],
        );
      }
      case "apps enable": {
        const applicationId = yield* need("app");
        return textTable(
          [yield* call(() => client.admin.applications.enable.mutate({ applicationId }))],
          ["id", "name", "status"],
        );
      }
      case "keys create": {
        const applicationId = yield* need("app");
        const name = yield* need("name");
        const rpm = yield* count("rpm");
        const tpm = yield* count("tpm");
        const budget = optional("budget-usd");
        const budgetMicroUsd =
          budget === undefined
            ? undefined
            : yield* Effect.try({
                try: () => parseUsd(budget),
                catch: (e) => usageError(`--budget-usd: ${(e as Error).message}`),
              });
        const role = optional("role");
        if (role !== undefined && role !== "evaluator" && role !== "application")
          return yield* usageError("--role must be application or evaluator");
        const created = yield* call(() =>
          client.admin.keys.create.mutate({ applicationId, name, rpm, tpm, budgetMicroUsd }),
        );
        if (role !== undefined)
          yield* call(() => client.admin.keyRoles.set.mutate({ keyId: created.key.id, role }));
        return `${textTable([{ ...created.key, role: role ?? "application" }], ["id", "name", "prefix", "role", "rpm", "tpm", "budgetMicroUsd"])}\nAPI key (shown once, store it now):\n${created.secret}\n`;
      }
      case "keys list": {
        const app = optional("app");
        const keys = yield* call(() =>
          client.admin.keys.list.query(app === undefined ? undefined : { applicationId: app }),
        );
        return textTable(keys, [
          "id",
          "applicationId",
          "name",
          "prefix",
          "status",
          "rpm",
          "tpm",
          "budgetMicroUsd",
          "lastUsedAt",
        ]);
      }
      case "keys revoke": {
        const keyId = yield* need("key");
        return textTable(
          [yield* call(() => client.admin.keys.revoke.mutate({ keyId }))],
          ["id", "name", "status", "revokedAt"],
        );
      }
      case "usage": {
        const days = (yield* count("days")) ?? 30;
        const to = Date.now();
        const applicationId = optional("app");
        const keyId = optional("key");
        const rows = yield* call(() =>
          client.admin.reports.usage.query({
            from: Math.max(0, to - days * DAY_MS),
            to,
            applicationId,
            keyId,
          }),
        );
        const shown = rows.map((r) => ({ ...r, spentUsd: formatUsd(r.spentMicroUsd) }));
        return textTable(shown, [
          "day",
          "applicationId",
          "keyId",
          "serviceId",
          "requests",
          "failed",
          "inputTokens",
          "outputTokens",
          "images",
          "spentUsd",
        ]);
      }
      default:
        return yield* usageError(`unknown admin command "${positionals.join(" ")}"`);
    }
  });
}
