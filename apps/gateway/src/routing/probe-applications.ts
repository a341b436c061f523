import { generateKeyPair } from "@pocket-ai/protocol";

export interface ProbeApplicationOptions {
  /** Probe applications kept at once. */
  readonly poolSize: number;
  /**
   * A probe application is retired after a lifetime drawn log-uniformly from this range (ms): as
   * many live one to two weeks as two to four months, so most live for weeks and a share for months.
   */
  readonly lifetimeMs: readonly [number, number];
  /**
   * A new application's share of probes grows linearly over this long (ms) to its drawn activity,
   * as a customer's use grows after it signs up; its first relays are few.
   */
  readonly rampMs: number;
  /** Fresh applications tried for one relay when no pooled one's session holds the node. */
  readonly maxMints: number;
}

const DAY = 86_400_000;

/** Applications that joined the pool and addresses that left it, in one step of the pool. */
export interface ProbePoolChange {
  readonly joined: readonly ProbeApplication[];
  readonly left: readonly string[];
}

/**
 * Lifetimes of 7 to 180 days (mean about 53 days). A node that remembers when it first served an
 * application finds, in steady state, about one probe relay in twenty-five under an application
 * it first served less than two days ago (two days over the mean lifetime), and none under one
 * younger than the node's own first sighting can explain: see docs/security.md, "Probe
 * applications and age", for why lifetimes are not shorter (age gives probes away) nor longer
 * (a node that recognises one probe of an application knows its later ones).
 */
export const DEFAULT_PROBE_APPLICATIONS: ProbeApplicationOptions = {
  poolSize: 64,
  lifetimeMs: [7 * DAY, 180 * DAY],
  rampMs: 7 * DAY,
  maxMints: 256,
};

/** A pooled probe application: what the gateway keeps of it across restarts (see `probe_applications`). */
export interface ProbeApplication {
  readonly address: string;
  readonly bornAt: number;
  readonly retireAt: number;
  /** How busy this application is: probes pick applications in proportion to it. */
  readonly activity: number;
}

/**
 * An application's activity, Pareto-distributed (shape 1.1, like the Zipf-shaped activity of
 * customer applications): a few probe applications are busy and most are light, as customers are.
 * Capped at 20 times the lightest: an application lives for weeks, and a node that recognised the
 * busiest one would otherwise know most of its probes for that long.
 */
export function probeActivity(u: number): number {
  return Math.min(20, (1 - u) ** (-1 / 1.1));
}

/**
 * The applications evaluator probes are sent under. Each is a fresh key pair's address (drawn
 * exactly as customer application addresses are: uniformly random to anyone without the key), is
 * never an account and is never billed to a customer (the evaluator's own key pays), and lives a
 * random number of weeks before it is replaced (`lifetimeMs`). A probe for a node goes out under a pooled
 * application whose session for the service holds that node, so the node sees an ordinary
 * relay of an ordinary session it belongs to; when no pooled application's session holds it, new
 * ones are minted until one does (the one due to retire soonest leaves the pool, so minting does
 * not cut the long lifetimes short).
 */
export class ProbeApplications {
  private pool: ProbeApplication[];

  /**
   * `kept` is the pool as the gateway last saved it (its database's `probe_applications`): a
   * restarted gateway goes on with the same applications, their ages and lifetimes, instead of
   * showing every node a burst of new ones. `changed` hears every application that joins or
   * leaves the pool, for the gateway to save.
   */
  constructor(
    private readonly options: ProbeApplicationOptions = DEFAULT_PROBE_APPLICATIONS,
    private readonly random: () => number = Math.random,
    private readonly mint: () => string = () => generateKeyPair().address,
    kept: readonly ProbeApplication[] = [],
    private readonly changed: (change: ProbePoolChange) => void = () => undefined,
  ) {
    this.pool = kept.slice(0, options.poolSize);
  }

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
      const weight = (a: ProbeApplication) =>
        a.activity * Math.min(1, Math.max(1 / 168, (now - a.bornAt) / this.options.rampMs));
      let at = this.random() * fitting.reduce((sum, a) => sum + weight(a), 0);
      for (const app of fitting) {
        at -= weight(app);
        if (at < 0) return app.address;
      }
      return fitting[fitting.length - 1]!.address;
    }
    for (let i = 0; i < this.options.maxMints; i++) {
      const app = this.fresh(now);
      if (!holds(app.address)) continue;
      this.pool.push(app);
      const left: string[] = [];
      if (this.pool.length > this.options.poolSize) {
        // Never the one just minted (the last): it is about to carry this probe.
        let soonest = 0;
        for (let j = 1; j < this.pool.length - 1; j++) {
          if (this.pool[j]!.retireAt < this.pool[soonest]!.retireAt) soonest = j;
        }
        left.push(...this.pool.splice(soonest, 1).map((a) => a.address));
      }
      this.changed({ joined: [app], left });
      return app.address;
    }
    return undefined;
  }

  private fresh(now: number): ProbeApplication {
    const [low, high] = this.options.lifetimeMs;
    return {
      address: this.mint(),
      bornAt: now,
      // Whole milliseconds, as every time the gateway stores.
      retireAt: now + Math.round(low * (high / low) ** this.random()),
      activity: probeActivity(this.random()),
    };
  }

  private retire(now: number): void {
    const left: string[] = [];
    const joined: ProbeApplication[] = [];
    const kept: ProbeApplication[] = [];
    for (const app of this.pool) {
      if (app.retireAt > now) kept.push(app);
      else left.push(app.address);
    }
    this.pool = kept;
    // Keep the pool populated so that probes spread over many applications from the start.
    while (this.pool.length < this.options.poolSize) {
      const app = this.fresh(now);
      this.pool.push(app);
      joined.push(app);
    }
    if (joined.length > 0 || left.length > 0) this.changed({ joined, left });
  }
}
