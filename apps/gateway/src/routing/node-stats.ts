import { ewmaAlpha } from "./schedules.js";

/** Which latency a relay measured: a whole unary text answer, the first byte of a stream, an image. */
export type LatencyKind = "text" | "ttft" | "image";

export interface NodeStatsView {
  readonly latencyMs: Partial<Record<LatencyKind, number>>;
  /** EWMA of failures (1) and successes (0) of relays sent to the node. */
  readonly errorRate: number;
  readonly relays: number;
  readonly failures: number;
  /** Unix ms until which the node gets no traffic, when sanctioned. */
  readonly sanctionedUntil: number | undefined;
  readonly sanctionReason: string | undefined;
}

interface Entry {
  latencyMs: Partial<Record<LatencyKind, number>>;
  errorRate: number;
  relays: number;
  failures: number;
  sanctionedUntil: number | undefined;
  sanctionReason: string | undefined;
}

/**
 * Entries kept before the first sweep of departed nodes; after a sweep, twice what it kept. The
 * map then holds at most twice the nodes still active or sanctioned (or this many), however many
 * short-lived keys have come and gone, and each sweep is paid for by as many new entries.
 */
export const NODE_STATS_SWEEP_AT = 1_024;

/** Which nodes' stats are worth keeping: those routing may still draw, at `now`. */
export interface NodeStatsRetention {
  readonly active: (address: string, now: number) => boolean;
  readonly now: () => number;
}

const ewma = (previous: number | undefined, value: number) =>
  previous === undefined ? value : previous + ewmaAlpha * (value - previous);

/**
 * What the gateway observed of each node: latency and error-rate moving averages and sanctions.
 * In memory only: a restarted gateway measures again (the evaluator's scores persist elsewhere).
 * A node that left (no longer registered, or stopped announcing) loses its entry at the next sweep,
 * once its sanction, if any, has ended: it starts over like any new key if it comes back.
 */
export class NodeStats {
  private readonly entries = new Map<string, Entry>();
  private sweepAt = NODE_STATS_SWEEP_AT;

  /** Without `retention`, every entry is kept. */
  constructor(private readonly retention?: NodeStatsRetention) {}

  /** Nodes with an entry (left nodes included until the next sweep). */
  get size(): number {
    return this.entries.size;
  }

  private entry(address: string): Entry {
    let e = this.entries.get(address);
    if (e === undefined) {
      if (this.entries.size >= this.sweepAt) this.sweep();
      e = {
        latencyMs: {},
        errorRate: 0,
        relays: 0,
        failures: 0,
        sanctionedUntil: undefined,
        sanctionReason: undefined,
      };
      this.entries.set(address, e);
    }
    return e;
  }

  /** Drops the entries of nodes that left and whose sanction, if any, has ended. */
  private sweep(): void {
    const retention = this.retention;
    if (retention === undefined) return;
    const now = retention.now();
    for (const [address, e] of this.entries) {
      const sanctioned = e.sanctionedUntil !== undefined && now < e.sanctionedUntil;
      if (!sanctioned && !retention.active(address, now)) this.entries.delete(address);
    }
    this.sweepAt = Math.max(NODE_STATS_SWEEP_AT, 2 * this.entries.size);
  }

  success(address: string, kind: LatencyKind, latencyMs: number): void {
    const e = this.entry(address);
    e.relays += 1;
    e.errorRate = ewma(e.errorRate, 0);
    e.latencyMs[kind] = ewma(e.latencyMs[kind], Math.max(0, latencyMs));
  }

  /**
   * A relay given up on after `waitedMs` without the node's answer (its client left, another node
   * answered first): its latency was at least that long. An estimate below it rises as a sample of
   * it would move it; one above it stays. A node without an estimate keeps none: the wait is only a
   * lower bound, and a short one would make an unmeasured node look fast. Counts as neither a
   * success nor a failure.
   */
  waited(address: string, kind: LatencyKind, waitedMs: number): void {
    const current = this.entries.get(address)?.latencyMs[kind];
    if (current === undefined || !(waitedMs > current)) return;
    const e = this.entry(address);
    e.latencyMs[kind] = ewma(current, waitedMs);
  }

  /** A failure before any answer (transport, timeout, node-side error) or an invalid answer. */
  failure(address: string): void {
    const e = this.entry(address);
    e.relays += 1;
    e.failures += 1;
    e.errorRate = ewma(e.errorRate, 1);
  }

  sanction(address: string, now: number, forMs: number, reason: string): void {
    const e = this.entry(address);
    e.sanctionedUntil = Math.max(e.sanctionedUntil ?? 0, now + forMs);
    e.sanctionReason = reason;
  }

  /** Lifts a sanction early (an operator's decision). */
  clearSanction(address: string): void {
    const e = this.entries.get(address);
    if (e !== undefined) {
      e.sanctionedUntil = undefined;
      e.sanctionReason = undefined;
    }
  }

  isSanctioned(address: string, now: number): boolean {
    const until = this.entries.get(address)?.sanctionedUntil;
    return until !== undefined && now < until;
  }

  view(address: string, now: number): NodeStatsView {
    const e = this.entries.get(address);
    if (e === undefined) {
      return {
        latencyMs: {},
        errorRate: 0,
        relays: 0,
        failures: 0,
        sanctionedUntil: undefined,
        sanctionReason: undefined,
      };
    }
    const active = e.sanctionedUntil !== undefined && now < e.sanctionedUntil;
    return {
      latencyMs: { ...e.latencyMs },
      errorRate: e.errorRate,
      relays: e.relays,
      failures: e.failures,
      sanctionedUntil: active ? e.sanctionedUntil : undefined,
      sanctionReason: active ? e.sanctionReason : undefined,
    };
  }
}
