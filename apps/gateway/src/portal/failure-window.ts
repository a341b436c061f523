/**
 * Counts events per key in a rolling window, in memory (failed log-ins per network and per
 * account). A restart forgets them, which only ever lets a few more guesses through; the password
 * hash's cost bounds guessing anyway.
 */
export class FailureWindow {
  private readonly events = new Map<string, number[]>();

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys = 100_000,
  ) {}

  count(key: string, now: number): number {
    const kept = (this.events.get(key) ?? []).filter((t) => t > now - this.windowMs);
    if (kept.length === 0) this.events.delete(key);
    else this.events.set(key, kept);
    return kept.length;
  }

  record(key: string, now: number): void {
    if (!this.events.has(key) && this.events.size >= this.maxKeys) {
      const oldest = this.events.keys().next().value;
      if (oldest !== undefined) this.events.delete(oldest);
    }
    this.events.set(key, [...(this.events.get(key) ?? []), now]);
  }

  clear(key: string): void {
    this.events.delete(key);
  }
}
