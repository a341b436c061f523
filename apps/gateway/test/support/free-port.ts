import { createServer } from "node:net";

/** A loopback port free right now: for a node that must listen behind a link a test puts in front of it. */
export const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
