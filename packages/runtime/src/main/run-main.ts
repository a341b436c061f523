import { Cause, Effect, Exit, Fiber } from "effect";
import { redactingLoggerLayer } from "../log/effect-logger.js";
import { createLogger } from "../log/logger.js";

/**
 * Runs an app's main effect: SIGINT or SIGTERM interrupts it, so every scope closes in order
 * (servers drain in-flight requests, loops stop, databases checkpoint) before the process exits.
 * A failure prints its message — not a stack — and exits 1. A second signal exits at once, unless
 * it comes within `sameSignalMs` of the first: Ctrl-C under a task runner (pnpm, turbo) reaches
 * the app twice, from the terminal and forwarded by the runner, and that is one Ctrl-C.
 * `Effect.log*` goes through the redacting JSON logger unless the app installs its own.
 */
export function runMain<E>(
  program: Effect.Effect<unknown, E>,
  options: {
    readonly app: string;
    readonly sameSignalMs?: number;
    /** The signals that stop it (default SIGINT and SIGTERM). */
    readonly signals?: readonly ("SIGINT" | "SIGTERM")[];
  } = { app: "app" },
): void {
  const fiber = Effect.runFork(
    Effect.provide(program, redactingLoggerLayer(createLogger({ app: options.app }))),
  );
  const sameSignalMs = options.sameSignalMs ?? 1_000;
  let firstAt: number | undefined;
  const stop = (signal: string) => {
    const now = performance.now();
    if (firstAt !== undefined) {
      if (now - firstAt < sameSignalMs) return;
      process.stderr.write(`${options.app}: second ${signal}, exiting now\n`);
      process.exit(130);
    }
    firstAt = now;
    process.stderr.write(
      `${options.app}: ${signal} received, shutting down cleanly…${Number.isFinite(sameSignalMs) ? " (again to exit at once)" : ""}\n`,
    );
    Effect.runFork(Fiber.interrupt(fiber));
  };
  for (const signal of options.signals ?? ["SIGINT", "SIGTERM"]) process.on(signal, () => stop(signal));
  fiber.addObserver((exit) => {
    if (Exit.isSuccess(exit) || Cause.isInterruptedOnly(exit.cause)) {
      process.exit(0);
    }
    const failure = Cause.failureOption(exit.cause);
    const message =
      failure._tag === "Some" ? describe(failure.value) : `unexpected error: ${Cause.pretty(exit.cause)}`;
    process.stderr.write(`${options.app}: ${message}\n`);
    process.exit(1);
  });
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "object" && error !== null && "message" in error) return String(error.message);
  return String(error);
}
