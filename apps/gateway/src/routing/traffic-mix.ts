import { type TrafficMix, type TrafficShape, trafficShapeKey } from "@pocket-ai/protocol";

export interface TrafficMixOptions {
  /** Counts are halved whenever this many relays were counted since the last halving. */
  readonly halfLife: number;
  /** Shapes (and prompt-length buckets) counted fewer times than this are not published. */
  readonly minCount: number;
  /** Distinct shapes kept, and distinct prompt-length buckets likewise; the rarest go first. */
  readonly maxShapes: number;
  /** Shapes and prompt-length buckets sent by fewer distinct applications than this are not published. */
  readonly minApplications: number;
  /** One application's relays count toward a shape (or a bucket) at most this share of all counted relays. */
  readonly maxApplicationShare: number;
}

export const DEFAULT_TRAFFIC_MIX: TrafficMixOptions = {
  halfLife: 20_000,
  minCount: 3,
  maxShapes: 2_000,
  minApplications: 3,
  maxApplicationShare: 0.05,
};

/**
 * Applications remembered per shape and per prompt-length bucket; the lightest go first (enough
 * to count a few and cap the busiest).
 */
const APPS_PER_SHAPE = 64;

/** Relays counted in one shape or prompt-length bucket, and how many each application sent. */
interface Tally {
  count: number;
  readonly apps: Map<string, number>;
}

const countIn = (tally: Tally, application: string): void => {
  tally.count += 1;
  tally.apps.set(application, (tally.apps.get(application) ?? 0) + 1);
  if (tally.apps.size > APPS_PER_SHAPE) dropLightest(tally.apps, application);
};

/**
 * Counts the request shapes of customer text relays (`TrafficShape`: parameters only, never a
 * prompt or an output), decaying older traffic, so that evaluator probes can be sent in the shapes
 * customers send now. Relays pinned to a node (evaluator probes) are not counted.
 *
 * One customer key must not be able to plant a shape of its own in the probes (and then know every
 * relay in that shape it did not send for a probe): a shape is published only once
 * `minApplications` distinct applications send it, and each application's relays count toward a
 * shape at most `maxApplicationShare` of all counted relays (docs/security.md, "Planted shapes").
 * Prompt-length buckets follow the same rule, since probes carry their lengths as well.
 */
export class TrafficMixCounter {
  private readonly counts = new Map<string, Tally & { readonly shape: TrafficShape }>();
  private readonly lengths = new Map<
    string,
    Tally & {
      readonly upTo: number;
      readonly linesUpTo: number;
      readonly contextUpTo: number;
      readonly operation: TrafficShape["operation"];
      readonly echo: boolean;
    }
  >();
  private total = 0;
  private sinceHalving = 0;

  constructor(private readonly options: TrafficMixOptions = DEFAULT_TRAFFIC_MIX) {}

  record(
    shape: TrafficShape,
    prompt: { readonly upTo: number; readonly linesUpTo: number; readonly contextUpTo?: number },
    application: string,
  ): void {
    const contextUpTo = prompt.contextUpTo ?? 0;
    const at = `${shape.operation}/${shape.echo}/${prompt.upTo}/${prompt.linesUpTo}/${contextUpTo}`;
    let length = this.lengths.get(at);
    if (length === undefined) {
      length = {
        upTo: prompt.upTo,
        linesUpTo: prompt.linesUpTo,
        contextUpTo,
        operation: shape.operation,
        echo: shape.echo,
        count: 0,
        apps: new Map(),
      };
      this.lengths.set(at, length);
    }
    countIn(length, application);
    const key = trafficShapeKey(shape);
    let entry = this.counts.get(key);
    if (entry === undefined) {
      entry = { shape, count: 0, apps: new Map() };
      this.counts.set(key, entry);
    }
    countIn(entry, application);
    this.total += 1;
    this.sinceHalving += 1;
    if (this.sinceHalving >= this.options.halfLife) this.halve();
    if (this.counts.size > this.options.maxShapes) dropRarest(this.counts);
    if (this.lengths.size > this.options.maxShapes) dropRarest(this.lengths);
  }

  snapshot(): TrafficMix {
    const cap = this.options.maxApplicationShare * this.total;
    // What a shape or bucket publishes: nothing below `minApplications` applications, each
    // application counting at most `cap` relays, nothing below `minCount` after the cap. The cap
    // takes off what remembered applications sent beyond it; the relays of applications forgotten
    // (the lightest, past `APPS_PER_SHAPE`) still count, so a shape or bucket that many
    // applications send is not undercounted.
    const published = (tally: Tally): number | undefined => {
      if (tally.apps.size < this.options.minApplications) return undefined;
      const excess = [...tally.apps.values()].reduce((sum, c) => sum + Math.max(0, c - cap), 0);
      const count = tally.count - excess;
      return count >= this.options.minCount ? count : undefined;
    };
    const shapes = [...this.counts.values()]
      .flatMap((e) => {
        const count = published(e);
        return count === undefined ? [] : [{ shape: e.shape, count }];
      })
      .sort((a, b) => b.count - a.count);
    const promptChars = [...this.lengths.values()]
      .flatMap(({ apps: _apps, count: _count, ...bucket }) => {
        const count = published({ count: _count, apps: _apps });
        return count === undefined ? [] : [{ ...bucket, count }];
      })
      .sort((a, b) => a.upTo - b.upTo || a.linesUpTo - b.linesUpTo || a.contextUpTo - b.contextUpTo);
    return { total: this.total, shapes, promptChars };
  }

  private halve(): void {
    this.sinceHalving = 0;
    this.total /= 2;
    halveAll(this.counts);
    halveAll(this.lengths);
  }
}

/** Halves every tally and its applications' counts; forgets what falls below half a relay. */
function halveAll(tallies: Map<string, Tally>): void {
  for (const [key, tally] of tallies) {
    tally.count /= 2;
    if (tally.count < 0.5) tallies.delete(key);
    for (const [app, c] of tally.apps) {
      if (c < 1) tally.apps.delete(app);
      else tally.apps.set(app, c / 2);
    }
  }
}

/** Forgets the tally with the fewest relays. */
function dropRarest(tallies: Map<string, Tally>): void {
  let rarest: string | undefined;
  let least = Number.POSITIVE_INFINITY;
  for (const [key, tally] of tallies)
    if (tally.count < least) {
      least = tally.count;
      rarest = key;
    }
  if (rarest !== undefined) tallies.delete(rarest);
}

/** Forgets the application with the fewest relays in a shape, never `keep` (the one just counted). */
function dropLightest(apps: Map<string, number>, keep: string): void {
  let lightest: string | undefined;
  let least = Number.POSITIVE_INFINITY;
  for (const [app, c] of apps)
    if (app !== keep && c < least) {
      least = c;
      lightest = app;
    }
  if (lightest !== undefined) apps.delete(lightest);
}
