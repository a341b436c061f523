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

/** A pooled probe application: what the gateway keeps of it (see `probe_applications`). */
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
 * How a pool follows the table that every process on the gateway's database shares (see
 * `probe-application-pool.ts`): the process hands over the applications it mints for probes and
 * takes the table's pool back.
 */
export interface SharedProbePool {
  /** Hears that the pool changed here (an application minted for a probe, or retired): time to sync. */
  readonly changed: () => void;
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
 *
 * Alone, the pool replaces retired applications itself. `shared`, it is a copy of the gateway's
 * table, which every replica on the database uses: it replaces none itself (the table is refilled
 * under a lock, so a retirement is replaced once, whichever replica sees it first), hands over the
 * applications it mints for probes (`takeMinted`) and takes the table's pool back (`adopt`). Until
 * it first adopts one, it is a pool of its own.
 */
export class ProbeApplications {
  private pool: ProbeApplication[] = [];
  /** Whether this pool replaces retired applications itself: alone, or shared before its first `adopt`. */
  private own = true;
  /** Applications minted here for probes, not handed over yet. */
  private minted = new Map<string, ProbeApplication>();
  /** Applications this pool let go for minted ones since the last hand-over. */
  private displaced = new Set<string>();

  constructor(
    private readonly options: ProbeApplicationOptions = DEFAULT_PROBE_APPLICATIONS,
    private readonly random: () => number = Math.random,
    private readonly mint: () => string = () => generateKeyPair().address,
    private readonly shared?: SharedProbePool,
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
      if (this.pool.length > this.options.poolSize) {
        // Never the one just minted (the last): it is about to carry this probe.
        let soonest = 0;
        for (let j = 1; j < this.pool.length - 1; j++) {
          if (this.pool[j]!.retireAt < this.pool[soonest]!.retireAt) soonest = j;
        }
        const [left] = this.pool.splice(soonest, 1);
        if (this.shared !== undefined && !this.own && !this.minted.delete(left!.address)) {
          this.displaced.add(left!.address);
        }
      }
      if (this.shared !== undefined && !this.own) {
        this.minted.set(app.address, app);
        this.shared.changed();
      }
      return app.address;
    }
    return undefined;
  }

  /** A new application born at `now`, its lifetime and activity drawn. */
  fresh(now: number): ProbeApplication {
    const [low, high] = this.options.lifetimeMs;
    return {
      address: this.mint(),
      bornAt: now,
      // Whole milliseconds, as every time the gateway stores.
      retireAt: now + Math.round(low * (high / low) ** this.random()),
      activity: probeActivity(this.random()),
    };
  }

  /** The applications minted here for probes since the last call, for the table. */
  takeMinted(): ProbeApplication[] {
    const minted = [...this.minted.values()];
    this.minted.clear();
    this.displaced.clear();
    return minted;
  }

  /** Minted applications `takeMinted` gave that did not reach the table, to hand over next time. */
  restore(minted: readonly ProbeApplication[]): void {
    const pooled = new Set(this.pool.map((a) => a.address));
    for (const app of minted) if (pooled.has(app.address)) this.minted.set(app.address, app);
  }

  /**
   * Takes the table's pool: what it holds, with the applications minted here since the last
   * `takeMinted` (the table has not seen them yet) and without those they displaced.
   */
  adopt(table: readonly ProbeApplication[]): void {
    const pool = table.filter((a) => !this.displaced.has(a.address) && !this.minted.has(a.address));
    this.pool = [...pool, ...this.minted.values()];
    this.own = false;
  }

  private retire(now: number): void {
    const kept: ProbeApplication[] = [];
    for (const app of this.pool) {
      if (app.retireAt > now) kept.push(app);
      else this.minted.delete(app.address);
    }
    const retired = kept.length < this.pool.length;
    this.pool = kept;
    if (this.own) {
      // Keep the pool populated so that probes spread over many applications from the start.
      while (this.pool.length < this.options.poolSize) this.pool.push(this.fresh(now));
    } else if (retired) {
      // The table is refilled once for all replicas.
      this.shared?.changed();
    }
  }
}
