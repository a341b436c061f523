import {
  PlainSql,
  type PlainSqlValue,
  runSteps,
  type SqlClient,
  type SqlSteps,
  sqlRun,
} from "@pocket-ai/runtime";
import {
  CUT_RECEIPT_COLUMNS,
  cutReceiptInsert,
  cutReceiptValues,
  type PendingCutReceipt,
} from "./cut-receipt-rows.js";
import type { relays } from "./schema.js";

/**
 * One relay's ledger row: counts, prices, hashes — never prompt or output text. With
 * `cutReceipt` (a stream the gateway cut), the receipt its node must get is written with it, in
 * the same transaction, for delivery from the database (`cut_receipts`).
 */
export type RelayRow = typeof relays.$inferInsert & { readonly cutReceipt?: PendingCutReceipt | undefined };

/** The ledger's columns, in the order of its statements' values, each with its value in a row. */
const COLUMNS: ReadonlyArray<readonly [string, (r: RelayRow) => PlainSqlValue]> = [
  ["request_hash", (r) => r.requestHash],
  ["application_id", (r) => r.applicationId],
  ["key_id", (r) => r.keyId],
  ["service_id", (r) => r.serviceId],
  ["tier", (r) => r.tier],
  // A row built without them was sold as it was served.
  ["sold_service_id", (r) => r.soldServiceId ?? r.serviceId],
  ["sold_tier", (r) => r.soldTier ?? r.tier],
  ["operation", (r) => r.operation],
  ["node_address", (r) => r.nodeAddress ?? null],
  ["session_id", (r) => r.sessionId],
  ["session_number", (r) => r.sessionNumber],
  ["outcome", (r) => r.outcome],
  ["error_code", (r) => r.errorCode ?? null],
  ["leaf_hash", (r) => r.leafHash ?? null],
  ["compute_units", (r) => r.computeUnits ?? 0],
  ["input_tokens", (r) => r.inputTokens ?? 0],
  ["output_tokens", (r) => r.outputTokens ?? 0],
  ["images", (r) => r.images ?? 0],
  ["attempts", (r) => r.attempts ?? 1],
  ["latency_ms", (r) => r.latencyMs ?? 0],
  ["ttft_ms", (r) => r.ttftMs ?? null],
  ["stream", (r) => r.stream ?? false],
  ["created_at", (r) => r.createdAt],
];
const NAMES = COLUMNS.map(([name]) => name).join(", ");
const valuesOf = (r: RelayRow): PlainSqlValue[] => COLUMNS.map(([, value]) => value(r));

/**
 * Literal parts for a {@link PlainSql} built here rather than by a template: compiled once, as a
 * template's are, because the array is made once.
 */
const partsOf = (parts: readonly string[]) =>
  Object.freeze(Object.assign([...parts], { raw: parts })) as unknown as TemplateStringsArray;

const commas = (n: number) => Array.from({ length: n }, () => ", ");

const INSERT = partsOf([
  `insert into relays (${NAMES}, price_micro_usd) values (`,
  ...commas(COLUMNS.length),
  ") on conflict (request_hash) do nothing",
]);

/**
 * Inserts a relay's row unless its request hash is already in the ledger, and its cut receipt with
 * it (run it inside a transaction when the row has one); returns 1 if inserted, else 0.
 */
export function* insertRelayRowSteps(r: RelayRow): SqlSteps<number> {
  const inserted = yield* sqlRun(new PlainSql(INSERT, [...valuesOf(r), r.priceMicroUsd ?? 0]));
  if (inserted === 1 && r.cutReceipt !== undefined) yield* sqlRun(cutReceiptInsert(r.cutReceipt));
  return inserted;
}

/** {@link insertRelayRowSteps} on `db`. */
export const insertRelayRow = (db: SqlClient, r: RelayRow): Promise<number> =>
  runSteps(insertRelayRowSteps(r), db);

const CHARGED = ' select charged as "charged" from charge';
const withRow = new WeakMap<TemplateStringsArray, TemplateStringsArray>();
const withRowAndReceipt = new WeakMap<TemplateStringsArray, TemplateStringsArray>();
const withoutRow = new WeakMap<TemplateStringsArray, TemplateStringsArray>();
/** How many values a cut receipt's row has (see `cutReceiptValues`). */
const RECEIPT_VALUES = CUT_RECEIPT_COLUMNS.split(",").length;

/**
 * PostgreSQL: `head`, a `with` list whose last query is named `charge` and has a `charged` column,
 * then, with `row`, one more query of that list that inserts the row priced at `charge.charged`
 * (no row when `charge` has none) — and another that inserts its cut receipt, if it has one —
 * then `select charged from charge`. A row already in the ledger fails the whole statement with a
 * unique violation on `relays_pkey`, which rolls all of it back.
 */
export function closeWithCharge(head: PlainSql, row: RelayRow | undefined): PlainSql {
  const receipt = row?.cutReceipt;
  const cache = row === undefined ? withoutRow : receipt === undefined ? withRow : withRowAndReceipt;
  let parts = cache.get(head.parts);
  if (parts === undefined) {
    const last = head.parts.length - 1;
    const before = head.parts.slice(0, last);
    const ledger = `${head.parts[last]}, ledger as (insert into relays (${NAMES}, price_micro_usd) select `;
    parts = partsOf(
      row === undefined
        ? [...before, `${head.parts[last]}${CHARGED}`]
        : receipt === undefined
          ? [...before, ledger, ...commas(COLUMNS.length - 1), `, charged from charge)${CHARGED}`]
          : [
              ...before,
              ledger,
              ...commas(COLUMNS.length - 1),
              `, charged from charge), cut_receipt as (insert into cut_receipts (${CUT_RECEIPT_COLUMNS}) select `,
              ...commas(RECEIPT_VALUES - 1),
              // As on SQLite (`insertCutReceipt`): a receipt for a relay that has one already adds nothing.
              ` from charge on conflict (request_hash) do nothing)${CHARGED}`,
            ],
    );
    cache.set(head.parts, parts);
  }
  return new PlainSql(
    parts,
    row === undefined
      ? head.values
      : receipt === undefined
        ? [...head.values, ...valuesOf(row)]
        : [...head.values, ...valuesOf(row), ...cutReceiptValues(receipt)],
  );
}
