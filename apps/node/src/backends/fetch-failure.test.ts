import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { describeFetchFailure } from "./engine-http.js";

describe("describeFetchFailure", () => {
  it("names the socket error under the wrappers (a tRPC client error over fetch's)", async () => {
    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, "127.0.0.1", () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const refused = await fetch(`http://127.0.0.1:${port}/trpc`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(describeFetchFailure(refused)).toBe("fetch failed: ECONNREFUSED");
    const wrapped = new Error("fetch failed", { cause: refused });
    expect(describeFetchFailure(wrapped)).toBe("fetch failed: ECONNREFUSED");
    // No code anywhere: the message under it, when it says more.
    expect(describeFetchFailure(new Error("call failed", { cause: new Error("socket hang up") }))).toBe(
      "call failed: socket hang up",
    );
    expect(describeFetchFailure("plain")).toBe("plain");
  });
});
