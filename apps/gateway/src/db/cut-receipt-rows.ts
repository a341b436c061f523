import type { StreamCutReceipt } from "@pocket-ai/protocol";
import { type PlainSql, type PlainSqlValue, plainSql, type SqlClient } from "@pocket-ai/runtime";

/**
 * A signed receipt for a stream the gateway cut, to be written with the stream's ledger row (see
 * `cut_receipts` in schema.ts) and delivered from there until its node takes it or it expires.
 */
export interface PendingCutReceipt {
  readonly receipt: StreamCutReceipt;
  /** When it can no longer change its node's claim: its session's end plus the session grace. */
  readonly expiresAt: number;
}

/** A receipt a delivery took (see {@link takeDueCutReceipts}): its row, leased until `leaseUntil`. */
export interface DueCutReceipt {
  readonly requestHash: string;
  readonly nodeAddress: string;
  readonly sessionId: string;
  /** The signed receipt, as JSON. */
  readonly receipt: string;
  readonly expiresAt: number;
  /** Deliveries tried before this one and not answered. */
  readonly attempts: number;
  readonly leaseUntil: number;
}

/** The columns of a new row, in the order of {@link cutReceiptValues}. */
export const CUT_RECEIPT_COLUMNS =
  "request_hash, node_address, session_id, receipt, expires_at, next_attempt_at, attempts, created_at";

/** A new row's values: due at once (its receipt was issued as its ledger row was written), no attempt yet. */
export const cutReceiptValues = ({ receipt, expiresAt }: PendingCutReceipt): PlainSqlValue[] => [
  receipt.requestHash,
  receipt.nodeAddress,
  receipt.sessionId,
  JSON.stringify(receipt),
  expiresAt,
  receipt.issuedAt,
  0,
  receipt.issuedAt,
];

/** The statement that writes a receipt to deliver (nothing when one for the relay is there already). */
export const cutReceiptInsert = ({ receipt, expiresAt }: PendingCutReceipt): PlainSql => plainSql`
    insert into cut_receipts (request_hash, node_address, session_id, receipt, expires_at, next_attempt_at, attempts, created_at)
    values (${receipt.requestHash}, ${receipt.nodeAddress}, ${receipt.sessionId}, ${JSON.stringify(receipt)},
      ${expiresAt}, ${receipt.issuedAt}, 0, ${receipt.issuedAt})
    on conflict (request_hash) do nothing`;

/** Writes a receipt to deliver (see {@link cutReceiptInsert}); in its ledger row's transaction. */
export function insertCutReceipt(db: SqlClient, pending: PendingCutReceipt): Promise<number> {
  return db.run(cutReceiptInsert(pending));
}

type TakenRow = Omit<DueCutReceipt, "leaseUntil">;

/**
 * Takes up to `limit` receipts due at `now` (their next attempt's time has come), oldest first, and
 * leases them until `leaseUntil`: their `next_attempt_at` moves there, so no other delivery (in
 * this process or another replica) takes them before the lease ends. Each row is taken by one
 * conditional UPDATE that checks it is still due, so two replicas never both take one; on
 * PostgreSQL a row another replica is taking is skipped, not waited for.
 */
export async function takeDueCutReceipts(
  db: SqlClient,
  now: number,
  leaseUntil: number,
  limit: number,
): Promise<DueCutReceipt[]> {
  const rows =
    db.dialect === "postgres"
      ? await db.all<TakenRow>(plainSql`
          update cut_receipts set next_attempt_at = ${leaseUntil}
          where next_attempt_at <= ${now} and request_hash in (
            select request_hash from cut_receipts where next_attempt_at <= ${now}
            order by next_attempt_at limit ${limit} for update skip locked)
          returning request_hash as "requestHash", node_address as "nodeAddress", session_id as "sessionId",
            receipt, expires_at as "expiresAt", attempts`)
      : await db.all<TakenRow>(plainSql`
          update cut_receipts set next_attempt_at = ${leaseUntil}
          where next_attempt_at <= ${now} and request_hash in (
            select request_hash from cut_receipts where next_attempt_at <= ${now}
            order by next_attempt_at limit ${limit})
          returning request_hash as "requestHash", node_address as "nodeAddress", session_id as "sessionId",
            receipt, expires_at as "expiresAt", attempts`);
  return rows.map((row) => ({ ...row, leaseUntil }));
}

/** The node answered for good (settled, or refused): the receipt is done. */
export function deleteCutReceipt(db: SqlClient, requestHash: string): Promise<number> {
  return db.run(plainSql`delete from cut_receipts where request_hash = ${requestHash}`);
}

/**
 * Removes a receipt whose lease `due` holds (no one else's delivery took it since); 1 when it did.
 * For a receipt that expired: only the delivery that removed it counts it.
 */
export function dropLeasedCutReceipt(db: SqlClient, due: DueCutReceipt): Promise<number> {
  return db.run(plainSql`
    delete from cut_receipts where request_hash = ${due.requestHash} and next_attempt_at = ${due.leaseUntil}`);
}

/** The node did not answer for good: tried again at `nextAttemptAt`, if `due`'s lease still holds. */
export function rescheduleCutReceipt(
  db: SqlClient,
  due: DueCutReceipt,
  nextAttemptAt: number,
): Promise<number> {
  return db.run(plainSql`
    update cut_receipts set attempts = attempts + 1, next_attempt_at = ${nextAttemptAt}
    where request_hash = ${due.requestHash} and next_attempt_at = ${due.leaseUntil}`);
}

/**
 * How many receipts wait (every replica's), and when the earliest is due (its next attempt, or the
 * end of its lease; `undefined` when there is none).
 */
export async function cutReceiptBacklog(
  db: SqlClient,
): Promise<{ readonly pending: number; readonly nextDue: number | undefined }> {
  const row = await db.get<{ pending: number | string; next: number | string | null }>(
    plainSql`select count(*) as "pending", min(next_attempt_at) as "next" from cut_receipts`,
  );
  return {
    pending: Number(row?.pending ?? 0),
    nextDue: row?.next === null || row?.next === undefined ? undefined : Number(row.next),
  };
}

/**
 * Makes every receipt due at `now`: the leases and waits a stopped process left. Only where one
 * process owns the database (SQLite): replicas on PostgreSQL leave other replicas' leases be.
 */
export function releaseCutReceiptLeases(db: SqlClient, now: number): Promise<number> {
  return db.run(plainSql`update cut_receipts set next_attempt_at = ${now} where next_attempt_at > ${now}`);
}
