import { type TrafficMix, type TrafficShape, trafficShapeKey } from "@pocket-ai/protocol";

export interface TrafficMixOptions {
  /** Counts are halved whenever this many relays were counted since the last halving. */
  readonly halfLife: number;
  /** Shapes counted fewer times than this are not published. */
  readonly minCount: number;
  /** Distinct shapes kept; the rarest go first. */
  readonly maxShapes: number;
}

export const DEFAULT_TRAFFIC_MIX: TrafficMixOptions = { halfLife: 20_000, minCount: 3, maxShapes: 2_000 };

/**
 * Counts the request shapes of customer text relays (`TrafficShape`: parameters only, never a
 * prompt or an output), decaying older traffic, so that evaluator probes can be sent in the shapes
 * customers send now. Relays pinned to a node (evaluator probes) are not counted.
 */
export class TrafficMixCounter {
  private readonly counts = new Map<string, { shape: TrafficShape; count: number }>();
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
    const entry = this.counts.get(key);
    if (entry === undefined) this.counts.set(key, { shape, count: 1 });
    else entry.count += 1;
    this.total += 1;
    this.sinceHalving += 1;
    if (this.sinceHalving >= this.options.halfLife) this.halve();
    if (this.counts.size > this.options.maxShapes) this.dropRarest();
  }

  snapshot(): TrafficMix {
    const shapes = [...this.counts.values()]
      .filter((e) => e.count >= this.options.minCount)
      .sort((a, b) => b.count - a.count)
      .map((e) => ({ shape: e.shape, count: e.count }));
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
