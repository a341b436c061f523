import { Cause, Effect, Exit, Fiber } from "effect";
import { describeCause, redactingLoggerLayer } from "../log/effect-logger.js";
import { createLogger } from "../log/logger.js";
import { messageOf, startCodeOf, withStartCode } from "./start-codes.js";

/**
 * Runs an app's main effect: SIGINT or SIGTERM interrupts it, so every scope closes in order
 * (servers drain in-flight requests, loops stop, databases checkpoint) before the process exits.
 * A failure prints its message — not a stack — after its start code (`PORT_IN_USE: …`, see
 * {@link START_CODES}) and exits 1; a defect prints `INTERNAL`, the error's name and message, and
 * asks for a report: never a stack, whose file paths must not leave the process. A second signal exits at once, unless
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
    const message = failure._tag === "Some" ? describeFailure(failure.value) : describeDefect(exit.cause);
    process.stderr.write(`${options.app}: ${message}\n`);
    process.exit(1);
  });
}

/** A typed failure's message, after its start code when it carries one. */
function describeFailure(error: unknown): string {
  const code = startCodeOf(error);
  return code === undefined ? messageOf(error) : withStartCode(code, messageOf(error));
}

/** A defect on one line: its name and message (as the log writes a failure), never its stack. */
function describeDefect(cause: Cause.Cause<unknown>): string {
  return `INTERNAL: unexpected error (${firstLine(describeCause(cause) ?? "")}). This is a bug: please report it with this line and what you ran.`;
}

/** The first line of a message: a message that quotes a stack (some libraries' do) stops before it. */
function firstLine(text: string): string {
  return text.split("\n", 1)[0] ?? "";
}
