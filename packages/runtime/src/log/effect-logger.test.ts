import { Data, Effect, Layer } from "effect";
import { describe, expect, it } from "vitest";
import { redactingLoggerLayer } from "./effect-logger.js";
import { createLogger } from "./logger.js";

function capture(level: "debug" | "info" | "warn" | "error" = "debug") {
  const lines: string[] = [];
  const log = createLogger({ app: "test", level, write: (l) => lines.push(l) });
  return { lines, layer: redactingLoggerLayer(log), records: () => lines.map((l) => JSON.parse(l)) };
}

describe("redactingLoggerLayer", () => {
  it("sends Effect.log* through the app logger, redacting private annotations", async () => {
    const out = capture();
    await Effect.runPromise(
      Effect.logInfo("relay served").pipe(
        Effect.annotateLogs({ service: "llama-2-13b", prompt: "my secret question", apiKey: "sk-1" }),
        Effect.provide(out.layer),
      ),
    );
    const text = out.lines.join("\n");
    expect(text).not.toContain("my secret question");
    expect(text).not.toContain("sk-1");
    expect(out.records()).toEqual([
      expect.objectContaining({ level: "info", msg: "relay served", service: "llama-2-13b", app: "test" }),
    ]);
  });

  it("is the only logger inside it: an app's own logger under runMain's prints each line once", async () => {
    const outer = capture();
    const inner = capture();
    await Effect.runPromise(
      Effect.logWarning("released budget reservations left by a crash").pipe(
        Effect.provide(inner.layer),
        Effect.provide(outer.layer),
      ),
    );
    expect(inner.records()).toEqual([
      expect.objectContaining({ msg: "released budget reservations left by a crash" }),
    ]);
    expect(outer.lines).toEqual([]);
  });

  it("logs a failure's message without its stack or file paths", async () => {
    const out = capture();
    const failing = Effect.fail(new Error("database is locked"));
    await Effect.runPromise(
      Effect.catchAllCause(failing, (cause) => Effect.logError("write failed", cause)).pipe(
        Effect.provide(out.layer),
      ),
    );
    const [record] = out.records();
    expect(record).toMatchObject({ level: "error", msg: "write failed" });
    expect(String(record.error)).toContain("database is locked");
    expect(out.lines[0]).not.toMatch(/\.ts:\d+|node_modules|at /);
  });

  it("maps Effect's levels and lets the app logger filter them", async () => {
    const out = capture("warn");
    await Effect.runPromise(
      Effect.all([
        Effect.logDebug("d"),
        Effect.logInfo("i"),
        Effect.logWarning("w"),
        Effect.logFatal("f"),
      ]).pipe(Effect.provide(out.layer)),
    );
    expect(out.records().map((r) => [r.level, r.msg])).toEqual([
      ["warn", "w"],
      ["error", "f"],
    ]);
  });

  it("replaces Effect's console logger, so nothing reaches the console", async () => {
    const out = capture();
    const original = globalThis.console.log;
    const seen: unknown[] = [];
    globalThis.console.log = (...args: unknown[]) => seen.push(args);
    try {
      await Effect.runPromise(Effect.logInfo("hello").pipe(Effect.provide(Layer.mergeAll(out.layer))));
    } finally {
      globalThis.console.log = original;
    }
    expect(seen).toEqual([]);
    expect(out.records()).toHaveLength(1);
  });

  it("logs what a failure tells only its operator (`logText`), where its message is kept for callers", async () => {
    // A failure whose message goes to callers (empty here: they get their code's generic text)
    // and whose words for the operator's log are its own.
    class StoreFailed extends Data.TaggedError("StoreFailed")<{ operation: string; reason: string }> {
      get logText(): string {
        return `${this.operation}: ${this.reason}`;
      }
    }
    const out = capture();
    await Effect.runPromise(
      Effect.fail(
        new StoreFailed({ operation: "claims.insert", reason: "SQLITE_FULL: database or disk is full" }),
      ).pipe(
        Effect.catchAllCause((cause) => Effect.logWarning("claim intake failed", cause)),
        Effect.provide(out.layer),
      ),
    );
    expect(out.records()).toEqual([
      expect.objectContaining({
        msg: "claim intake failed",
        error: "StoreFailed: claims.insert: SQLITE_FULL: database or disk is full",
      }),
    ]);
  });
});
