import { createServer } from "node:net";

/** A loopback port free right now: for a node that must listen behind a link a test puts in front of it. */
export const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

/**
 * `start` on a port free when it was chosen, chosen again while the start fails with PORT_IN_USE:
 * another process (a benchmark, a parallel test) may bind the port between the probe and the start.
 * `start` closes what it opened before it throws.
 */
export async function onFreePort<T>(start: (port: number) => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await freePort());
    } catch (e) {
      if (attempt >= attempts || !String(e).includes("PORT_IN_USE")) throw e;
    }
  }
}
