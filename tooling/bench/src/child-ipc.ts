/**
 * The small protocol between the benchmark and the processes it starts: a child reports
 * `{ ready: {...} }` once it serves, and stops cleanly (so `--cpu-prof` writes its profile) when it
 * receives `"stop"` or SIGTERM. Asked `"cpu"`, it answers `{ cpu: process.cpuUsage() }` (its own CPU
 * time in microseconds, all threads). The parent side (`startChild`) lives in `child-process.ts`.
 */

export function reportReady(info: Record<string, unknown>): void {
  process.on("message", (message) => {
    if (message === "cpu") process.send?.({ cpu: process.cpuUsage() });
  });
  process.send?.({ ready: info });
}

export function reportFailure(error: unknown): never {
  process.send?.({ failed: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}

/** Runs `stop` once on "stop" or SIGTERM, then exits (a second signal exits at once). */
export function onStopMessage(stop: () => Promise<void>): void {
  let stopping = false;
  const run = () => {
    if (stopping) process.exit(1);
    stopping = true;
    const deadline = setTimeout(() => process.exit(0), 5_000);
    stop().finally(() => {
      clearTimeout(deadline);
      process.exit(0);
    });
  };
  process.on("message", (message) => {
    if (message === "stop") run();
  });
  process.on("SIGTERM", run);
  process.on("SIGINT", run);
  process.on("disconnect", run);
}
