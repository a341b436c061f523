import { generateKeyPair } from "@pocket-ai/protocol";

export interface ProbeApplicationOptions {
  /** Probe applications kept at once. */
  readonly poolSize: number;
  /** A probe application is retired after a lifetime drawn uniformly from this range (ms). */
  readonly lifetimeMs: readonly [number, number];
  /** Fresh applications tried for one relay when no pooled one's session holds the node. */
  readonly maxMints: number;
}

export const DEFAULT_PROBE_APPLICATIONS: ProbeApplicationOptions = {
  poolSize: 64,
  lifetimeMs: [6 * 3_600_000, 48 * 3_600_000],
  maxMints: 256,
};

interface ProbeApplication {
  readonly address: string;
  readonly retireAt: number;
  /** How busy this application is: probes pick applications in proportion to it. */
  readonly activity: number;
}

/**
 * An application's activity, Pareto-distributed (shape 1.1, like the Zipf-shaped activity of
 * customer applications): a few probe applications are busy and most are light, as customers are.
 */
export function probeActivity(u: number): number {
  return Math.min(1e4, (1 - u) ** (-1 / 1.1));
}

/**
 * The applications evaluator probes are sent under. Each is a fresh key pair's address (drawn
 * exactly as customer application addresses are: uniformly random to anyone without the key), is
 * never an account and is never billed to a customer (the evaluator's own key pays), and lives a
 * random number of hours before it is replaced. A probe for a node goes out under a pooled
 * application whose session for the service holds that node, so the node sees an ordinary
 * relay of an ordinary session it belongs to; when no pooled application's session holds it, new
 * ones are minted until one does (the oldest leave the pool).
 */
export class ProbeApplications {
  private pool: ProbeApplication[] = [];

  constructor(
    private readonly options: ProbeApplicationOptions = DEFAULT_PROBE_APPLICATIONS,
    private readonly random: () => number = Math.random,
    private readonly mint: () => string = () => generateKeyPair().address,
  ) {}

  /** The pooled application addresses (for tests and the admin view). */
  addresses(now: number): readonly string[] {
    this.retire(now);
    return this.pool.map((a) => a.address);
  }

  /**
   * An application for a probe at `now`: one whose session holds the node (`holds`), chosen at
   * random among the pooled ones that qualify; undefined when none of `maxMints` fresh ones does.
   */
  pick(now: number, holds: (applicationAddress: string) => boolean): string | undefined {
    this.retire(now);
    const fitting = this.pool.filter((a) => holds(a.address));
    if (fitting.length > 0) {
      let at = this.random() * fitting.reduce((sum, a) => sum + a.activity, 0);
      for (const app of fitting) {
        at -= app.activity;
        if (at < 0) return app.address;
      }
      return fitting[fitting.length - 1]!.address;
    }
    for (let i = 0; i < this.options.maxMints; i++) {
      const app = this.fresh(now);
      if (!holds(app.address)) continue;
      this.pool.push(app);
      if (this.pool.length > this.options.poolSize) this.pool.shift();
      return app.address;
    }
    return undefined;
  }

  private fresh(now: number): ProbeApplication {
    const [low, high] = this.options.lifetimeMs;
    return {
      address: this.mint(),
      retireAt: now + low + this.random() * (high - low),
      activity: probeActivity(this.random()),
    };
  }

  private retire(now: number): void {
    this.pool = this.pool.filter((a) => a.retireAt > now);
    // Keep the pool populated so that probes spread over many applications from the start.
    while (this.pool.length < this.options.poolSize) this.pool.push(this.fresh(now));
  }
}
