import { plainSql, type SqlClient } from "@pocket-ai/runtime";

/**
 * Caps on what one application's keys hold (the portal's `keys.*` settings), checked inside the
 * transaction that writes the key, after {@link lockApplication}: two key changes of one
 * application, on any replica, are checked one after the other, so neither passes on a count the
 * other is about to change.
 */
export interface KeyCaps {
  /** The most active keys the application may hold; checked when a key is created. */
  readonly maxActiveKeys?: number | undefined;
  /**
   * The most budget the application's keys hold together: an active key its budget, a revoked one
   * what it spent (so revoking a spent key and making a new one opens no new money). Not applied
   * while another active key of the application is unlimited (a key the operator left so).
   */
  readonly maxHeldMicroUsd?: number | undefined;
  /**
   * A budget above what is left is lowered to it (while something is left) instead of refused:
   * for a default budget the customer did not ask for.
   */
  readonly fitBudgetToRoom?: boolean | undefined;
}

/**
 * Locks the application's row until the transaction ends and returns its status (`undefined`: no
 * such application). PostgreSQL: a row lock that key changes of the same application wait on
 * (`no key update`, so foreign-key checks of other writes do not). SQLite: the transaction's
 * `BEGIN IMMEDIATE` already holds the database's write lock, so a plain read suffices.
 */
export async function lockApplication(
  tx: SqlClient,
  applicationId: string,
): Promise<"active" | "disabled" | undefined> {
  const row = await tx.get<{ status: "active" | "disabled" }>(
    tx.dialect === "postgres"
      ? plainSql`select status from applications where id = ${applicationId} for no key update`
      : plainSql`select status from applications where id = ${applicationId}`,
  );
  return row?.status;
}

/** How many active keys the application holds. */
export async function activeKeyCount(tx: SqlClient, applicationId: string): Promise<number> {
  const row = await tx.get<{ n: number }>(plainSql`
    select cast(count(*) as bigint) as "n" from api_keys
    where application_id = ${applicationId} and status = 'active'`);
  return row?.n ?? 0;
}

/**
 * What is left of `maxHeldMicroUsd` beside the application's keys other than `exceptKeyId`
 * (`undefined`: another active key is unlimited, so the cap does not apply).
 */
export async function budgetRoom(
  tx: SqlClient,
  applicationId: string,
  maxHeldMicroUsd: number,
  exceptKeyId = "",
): Promise<number | undefined> {
  const held = await tx.get<{ held: number; unlimited: number }>(plainSql`
    select cast(coalesce(sum(case when status = 'active' then budget_micro_usd else spent_micro_usd end), 0) as bigint) as "held",
      cast(coalesce(sum(case when status = 'active' and budget_micro_usd is null then 1 else 0 end), 0) as bigint) as "unlimited"
    from api_keys where application_id = ${applicationId} and id <> ${exceptKeyId}`);
  if ((held?.unlimited ?? 0) > 0) return undefined;
  return Math.max(0, maxHeldMicroUsd - (held?.held ?? 0));
}

/**
 * The budget a key may take within `room`: one that fits stays; one above it is lowered to it when
 * `fit` and something is left; otherwise `"refused"`. An unlimited budget (`null`) is not measured
 * (the portal never asks for one under a cap; the operator may).
 */
export function budgetWithin(
  room: number | undefined,
  budget: number | null,
  fit: boolean,
): number | null | "refused" {
  if (room === undefined || budget === null || budget <= room) return budget;
  if (fit && room > 0) return room;
  return "refused";
}
