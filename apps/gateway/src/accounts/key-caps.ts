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
  /**
   * The most budget such changes of every application together may grant in a rolling 24 hours
   * (the portal's `keys.selfServeUsdPerDay`), counted at `now`: a new key its budget, a change
   * what it adds to the key's budget. See {@link grantWithinDay}.
   */
  readonly grantsPerDay?: { readonly maxMicroUsd: number; readonly now: number } | undefined;
}

/** The window of {@link KeyCaps.grantsPerDay}. */
export const GRANT_WINDOW_MS = 86_400_000;

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

/**
 * What a key's budget going from `before` to `after` grants (`null`: unlimited, which no daily cap
 * can hold): a raise what it adds, a lowering nothing. A key that was unlimited (the operator's)
 * grants nothing by getting a budget.
 */
export function grantOf(before: number | null, after: number | null): number | null {
  if (before === null) return 0;
  if (after === null) return null;
  return Math.max(0, after - before);
}

/**
 * Records `grant` against `cap` when it fits beside what was granted in the last 24 hours, and
 * returns undefined; otherwise writes nothing and returns what is left. The grant table is locked
 * until the transaction ends (PostgreSQL: a table lock every grant takes, on any replica; SQLite:
 * the transaction's `BEGIN IMMEDIATE` already holds the write lock), so two grants are counted one
 * after the other and cannot both pass the cap. Take it after {@link lockApplication}: every grant
 * takes the locks in that order.
 */
export async function grantWithinDay(
  tx: SqlClient,
  grant: number | null,
  cap: NonNullable<KeyCaps["grantsPerDay"]>,
): Promise<number | undefined> {
  if (grant === 0) return undefined;
  if (tx.dialect === "postgres") await tx.run(plainSql`lock table portal_budget_grants in exclusive mode`);
  const since = cap.now - GRANT_WINDOW_MS;
  const row = await tx.get<{ granted: number }>(plainSql`
    select cast(coalesce(sum(micro_usd), 0) as bigint) as "granted" from portal_budget_grants
    where at > ${since}`);
  const room = Math.max(0, cap.maxMicroUsd - Number(row?.granted ?? 0));
  if (grant === null || grant > room) return room;
  await tx.run(plainSql`delete from portal_budget_grants where at <= ${since}`);
  await tx.run(plainSql`insert into portal_budget_grants (at, micro_usd) values (${cap.now}, ${grant})`);
  return undefined;
}
