import { type TrafficMix, type TrafficShape, trafficShapeKey } from "@pocket-ai/protocol";

export interface TrafficMixOptions {
  /** Counts are halved whenever this many relays were counted since the last halving. */
  readonly halfLife: number;
  /** Shapes counted fewer times than this are not published. */
  readonly minCount: number;
  /** Distinct shapes kept; the rarest go first. */
  readonly maxShapes: number;
  /** Shapes sent by fewer distinct applications than this are not published. */
  readonly minApplications: number;
  /** One application's relays count toward a shape at most this share of all counted relays. */
  readonly maxApplicationShare: number;
}

export const DEFAULT_TRAFFIC_MIX: TrafficMixOptions = {
  halfLife: 20_000,
  minCount: 3,
  maxShapes: 2_000,
  minApplications: 3,
  maxApplicationShare: 0.05,
};

/** Applications remembered per shape; the lightest go first (enough to count a few and cap the busiest). */
const APPS_PER_SHAPE = 64;

/**
 * Counts the request shapes of customer text relays (`TrafficShape`: parameters only, never a
 * prompt or an output), decaying older traffic, so that evaluator probes can be sent in the shapes
 * customers send now. Relays pinned to a node (evaluator probes) are not counted.
 *
 * One customer key must not be able to plant a shape of its own in the probes (and then know every
 * relay in that shape it did not send for a probe): a shape is published only once
 * `minApplications` distinct applications send it, and each application's relays count toward a
 * shape at most `maxApplicationShare` of all counted relays (docs/security.md, "Planted shapes").
 */
export class TrafficMixCounter {
  private readonly counts = new Map<
    string,
    { shape: TrafficShape; count: number; apps: Map<string, number> }
  >();
  private readonly lengths = new Map<
    string,
    {
      upTo: number;
      linesUpTo: number;
      contextUpTo: number;
      operation: TrafficShape["operation"];
      echo: boolean;
      count: number;
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
    const length = this.lengths.get(at) ?? {
      upTo: prompt.upTo,
      linesUpTo: prompt.linesUpTo,
      contextUpTo,
      operation: shape.operation,
      echo: shape.echo,
      count: 0,
    };
    length.count += 1;
    this.lengths.set(at, length);
    const key = trafficShapeKey(shape);
    let entry = this.counts.get(key);
    if (entry === undefined) {
      entry = { shape, count: 0, apps: new Map() };
      this.counts.set(key, entry);
    }
    entry.count += 1;
    entry.apps.set(application, (entry.apps.get(application) ?? 0) + 1);
    if (entry.apps.size > APPS_PER_SHAPE) dropLightest(entry.apps, application);
    this.total += 1;
    this.sinceHalving += 1;
    if (this.sinceHalving >= this.options.halfLife) this.halve();
    if (this.counts.size > this.options.maxShapes) this.dropRarest();
  }

  snapshot(): TrafficMix {
    const cap = this.options.maxApplicationShare * this.total;
    const shapes = [...this.counts.values()]
      .filter((e) => e.apps.size >= this.options.minApplications)
      .map((e) => ({
        shape: e.shape,
        count: [...e.apps.values()].reduce((sum, c) => sum + Math.min(c, cap), 0),
      }))
      .filter((e) => e.count >= this.options.minCount)
      .sort((a, b) => b.count - a.count);
    const promptChars = [...this.lengths.values()]
      .filter((l) => l.count >= this.options.minCount)
      .sort((a, b) => a.upTo - b.upTo || a.linesUpTo - b.linesUpTo || a.contextUpTo - b.contextUpTo)
      .map((l) => ({ ...l }));
    return { total: this.total, shapes, promptChars };
  }

  private halve(): void {
    this.sinceHalving = 0;
    this.total /= 2;
    for (const [key, entry] of this.counts) {
      entry.count /= 2;
      if (entry.count < 0.5) this.counts.delete(key);
      for (const [app, c] of entry.apps) {
        if (c < 1) entry.apps.delete(app);
        else entry.apps.set(app, c / 2);
      }
    }
    for (const length of this.lengths.values()) length.count /= 2;
  }

  private dropRarest(): void {
    let rarest: string | undefined;
    let least = Number.POSITIVE_INFINITY;
    for (const [key, entry] of this.counts)
      if (entry.count < least) {
        least = entry.count;
        rarest = key;
      }
    if (rarest !== undefined) this.counts.delete(rarest);
  }
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
