import { createServer } from "node:net";
import type { StartCode } from "@pocket-ai/runtime";
import { Data, Effect } from "effect";

export class PortInUse extends Data.TaggedError("PortInUse")<{
  readonly code: Extract<StartCode, "PORT_IN_USE" | "LISTEN_FAILED">;
  readonly message: string;
}> {}

/**
 * Checks that each port can be bound before anything starts, so a busy port stops the local
 * network with one clear message naming the setting to change, not halfway through.
 */
export function ensurePortsFree(host: string, ports: readonly { port: number; what: string; env: string }[]) {
  return Effect.forEach(
    ports.filter((p) => p.port !== 0),
    (p) =>
      Effect.async<void, PortInUse>((resume) => {
        const probe = createServer();
        probe.once("error", (e: NodeJS.ErrnoException) =>
          resume(
            Effect.fail(
              new PortInUse({
                code: e.code === "EADDRINUSE" ? "PORT_IN_USE" : "LISTEN_FAILED",
                message:
                  e.code === "EADDRINUSE"
                    ? `port ${p.port} (${p.what}) on ${host} is already in use. Free it or set ${p.env}=<another port>.`
                    : `cannot use port ${p.port} (${p.what}) on ${host}: ${e.message}`,
              }),
            ),
          ),
        );
        probe.listen(p.port, host, () => probe.close(() => resume(Effect.void)));
      }),
    { discard: true },
  );
}
