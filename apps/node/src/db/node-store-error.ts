import type { ErrorCode } from "@pocket-ai/protocol";
import { describeThrown } from "@pocket-ai/runtime";
import { Data, Effect } from "effect";

/**
 * A write to the node's SQLite ledger failed (disk full, database locked, corrupt file). The
 * caller learns it as a typed failure with the protocol code it answers with; the reason stays in
 * the node's log and never leaves the process.
 */
export class NodeStoreError extends Data.TaggedError("NodeStoreError")<{
  readonly operation: string;
  readonly reason: string;
}> {
  readonly code: ErrorCode = "INTERNAL";

  override get message(): string {
    return `node store: ${this.operation} failed: ${this.reason}`;
  }
}

/** What a failed write threw, as the typed error of `operation`. */
export const storeError = (operation: string, e: unknown): NodeStoreError =>
  new NodeStoreError({ operation, reason: describeThrown(e) });

/** Runs one synchronous SQLite write; a throw becomes a {@link NodeStoreError}, not a defect. */
export function storeWrite<A>(operation: string, write: () => A): Effect.Effect<A, NodeStoreError> {
  return Effect.try({ try: write, catch: (e) => storeError(operation, e) });
}
