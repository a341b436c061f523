import { describe, expect, it } from "vitest";
import { StreamShutdown } from "./stream-shutdown.js";

describe("StreamShutdown", () => {
  it("signals the drain's start to waits of their own, and cuts the streams only when asked", async () => {
    const streams = new StreamShutdown();
    const heard: string[] = [];
    streams.drainSignal.addEventListener("abort", () => heard.push("drain"));
    streams.signal.addEventListener("abort", () => heard.push("cut"));
    expect(streams.draining).toBe(false);
    streams.begin();
    expect(streams.draining).toBe(true);
    expect(heard).toEqual(["drain"]);
    await streams.cut();
    expect(heard).toEqual(["drain", "cut"]);
  });

  it("a cut without a drain before it ends the waits too", async () => {
    const streams = new StreamShutdown();
    await streams.cut();
    expect(streams.drainSignal.aborted).toBe(true);
    expect(streams.draining).toBe(true);
  });
});
