import type { Effect } from "effect";
import type { BackendError } from "../backends/backend.js";

export type ProbeObservation = "yes" | "no" | "error";

/** One line of `pocket-node check`: what the backend declares, what the probe saw, and why. */
export interface ProbeRow {
  readonly check: string;
  /** The declared capability; null for checks that are not capabilities (reachable, models). */
  readonly declared: boolean | null;
  readonly observed: ProbeObservation;
  readonly detail: string;
  /** Declared and observed agree (for non-capabilities: the check passed). */
  readonly agrees: boolean;
  /**
   * `error`: a check failed, or the node declares a capability the engine does not do: gateways
   * would route it requests it answers wrongly (the parameter silently ignored, or the evaluator
   * sanctioning the node). `note`: the engine does something the node does not declare (harmless:
   * it is only not routed those requests). `ok` otherwise.
   */
  readonly finding: "ok" | "error" | "note";
}

export interface ProbeReport {
  readonly backendId: string;
  readonly kind: string;
  readonly rows: readonly ProbeRow[];
  /** No `error` finding: the backend does everything it declares. */
  readonly ok: boolean;
}

export type Finding = { readonly observed: "yes" | "no"; readonly detail: string };
export const yes = (detail: string): Finding => ({ observed: "yes", detail });
export const no = (detail: string): Finding => ({ observed: "no", detail });

export function fromError(error: BackendError): { observed: ProbeObservation; detail: string } {
  if (error._tag === "BackendRejected") return { observed: "no", detail: error.reason };
  if (error._tag === "BackendTimeout")
    return { observed: "error", detail: `timed out after ${error.timeoutMs} ms` };
  return { observed: "error", detail: error.reason };
}

/** Runs one check, records its row, and returns what it observed. */
export type Run = (
  check: string,
  claim: boolean | null,
  probe: Effect.Effect<Finding, BackendError>,
) => Effect.Effect<ProbeObservation>;
