import { describe, expect, it } from "vitest";
import { CancelToken } from "./cancel-token.js";

describe("a cancel token", () => {
  it("calls its watcher once, with the first reason standing", () => {
    const cancel = new CancelToken();
    const seen: (Error | undefined)[] = [];
    cancel.watch(() => seen.push(cancel.reason));
    expect(cancel.reason).toBeUndefined();
    cancel.cancel(new Error("no answer in 10 ms"));
    cancel.cancel(new Error("the relay was interrupted"));
    expect(seen.map((e) => e?.message)).toEqual(["no answer in 10 ms"]);
    expect(cancel.reason?.message).toBe("no answer in 10 ms");
  });

  it("calls no watcher that stopped watching, and takes the next call's", () => {
    const cancel = new CancelToken();
    const calls: string[] = [];
    const first = () => calls.push("first");
    const second = () => calls.push("second");
    cancel.watch(first);
    cancel.unwatch(first);
    cancel.watch(second);
    // Another call's unwatch leaves the watcher in place.
    cancel.unwatch(first);
    cancel.cancel(new Error("gone"));
    expect(calls).toEqual(["second"]);
  });

  it("is watched by one call at a time", () => {
    const cancel = new CancelToken();
    const watcher = () => undefined;
    cancel.watch(watcher);
    cancel.watch(watcher);
    expect(() => cancel.watch(() => undefined)).toThrow(/one call at a time/);
  });
});
