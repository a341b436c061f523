import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { abortableIterator, type DeadlineReason, StreamDeadline } from "./stream-deadline.js";

describe("StreamDeadline", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("expires once at the overall deadline, however much progress was made", () => {
    const seen: DeadlineReason[] = [];
    const deadline = new StreamDeadline({ totalMs: 1_000, idleMs: 300, onExpire: (r) => seen.push(r) });
    for (let t = 0; t < 900; t += 100) {
      vi.advanceTimersByTime(100);
      deadline.touch();
    }
    expect(seen).toEqual([]);
    vi.advanceTimersByTime(100);
    expect(seen).toEqual(["total"]);
    expect(deadline.expired).toBe("total");
    vi.advanceTimersByTime(5_000);
    expect(seen).toEqual(["total"]);
  });

  it("expires when no progress is marked for the idle limit, counted from the last progress", () => {
    const seen: DeadlineReason[] = [];
    const deadline = new StreamDeadline({ totalMs: 10_000, idleMs: 300, onExpire: (r) => seen.push(r) });
    vi.advanceTimersByTime(200);
    deadline.touch();
    vi.advanceTimersByTime(200);
    expect(seen).toEqual([]);
    vi.advanceTimersByTime(100);
    expect(seen).toEqual(["idle"]);
  });

  it("keeps one timer for a limit longer than setTimeout's longest delay, and expires on time", () => {
    const seen: DeadlineReason[] = [];
    const timers = vi.spyOn(globalThis, "setTimeout");
    const idleMs = 3 * 2_147_483_647;
    new StreamDeadline({ totalMs: Number.POSITIVE_INFINITY, idleMs, onExpire: (r) => seen.push(r) });
    vi.advanceTimersByTime(60_000);
    // A delay over the limit fires after 1 ms: armed with it, the deadline would re-arm every 1 ms.
    expect(timers).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(idleMs - 60_001);
    expect(seen).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(seen).toEqual(["idle"]);
    expect(timers).toHaveBeenCalledTimes(3);
    timers.mockRestore();
  });

  it("never fires once cleared, and an idle-only deadline needs no overall limit", () => {
    const seen: DeadlineReason[] = [];
    const cleared = new StreamDeadline({ totalMs: 100, onExpire: (r) => seen.push(r) });
    cleared.clear();
    const idleOnly = new StreamDeadline({
      totalMs: Number.POSITIVE_INFINITY,
      idleMs: 50,
      onExpire: (r) => seen.push(r),
    });
    vi.advanceTimersByTime(1_000);
    expect(seen).toEqual(["idle"]);
    expect(idleOnly.expired).toBe("idle");
    expect(cleared.expired).toBeUndefined();
  });
});

describe("abortableIterator", () => {
  it("fails a pending next() with the abort reason though the source never answers", async () => {
    const never: AsyncIterator<number> = { next: () => new Promise(() => {}) };
    const controller = new AbortController();
    const iterator = abortableIterator(never, controller.signal);
    const pending = iterator.next();
    controller.abort(new Error("stalled"));
    await expect(pending).rejects.toThrow("stalled");
    await expect(iterator.next()).rejects.toThrow("stalled");
  });

  it("passes values, the end and the source's failures through unchanged", async () => {
    async function* source() {
      yield 1;
      yield 2;
    }
    const controller = new AbortController();
    const iterator = abortableIterator(source(), controller.signal);
    expect(await iterator.next()).toEqual({ done: false, value: 1 });
    expect(await iterator.next()).toEqual({ done: false, value: 2 });
    expect((await iterator.next()).done).toBe(true);
    const failing: AsyncIterator<number> = { next: () => Promise.reject(new Error("socket closed")) };
    await expect(abortableIterator(failing, controller.signal).next()).rejects.toThrow("socket closed");
  });
});
