import { plainSql, type SqlClient } from "@pocket-ai/runtime";
import type { relays } from "./schema.js";

/** One relay's ledger row: counts, prices, hashes — never prompt or output text. */
export type RelayRow = typeof relays.$inferInsert;

/** Inserts a relay's row unless its request hash is already in the ledger; returns 1 if inserted, else 0. */
export function insertRelayRow(db: SqlClient, r: RelayRow): Promise<number> {
  return db.run(plainSql`insert into relays
    (request_hash, application_id, key_id, service_id, tier, operation, node_address, session_id,
     session_number, outcome, error_code, leaf_hash, compute_units, input_tokens, output_tokens,
     images, price_micro_usd, attempts, latency_ms, ttft_ms, stream, created_at)
    values (${r.requestHash}, ${r.applicationId}, ${r.keyId}, ${r.serviceId}, ${r.tier}, ${r.operation},
     ${r.nodeAddress ?? null}, ${r.sessionId}, ${r.sessionNumber}, ${r.outcome}, ${r.errorCode ?? null},
     ${r.leafHash ?? null}, ${r.computeUnits ?? 0}, ${r.inputTokens ?? 0}, ${r.outputTokens ?? 0},
     ${r.images ?? 0}, ${r.priceMicroUsd ?? 0}, ${r.attempts ?? 1}, ${r.latencyMs ?? 0}, ${r.ttftMs ?? null},
     ${r.stream ?? false}, ${r.createdAt})
    on conflict (request_hash) do nothing`);
}
