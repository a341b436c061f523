import { Effect, Either } from "effect";
import { describe, expect, it } from "vitest";
import { checkPortFree, serveHttp } from "./serve.js";

describe("serveHttp", () => {
  it("serves on a free port and reports a taken one clearly", async () => {
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const first = yield* serveHttp({ host: "127.0.0.1", port: 0, handler: (_q, s) => s.end("hi") });
          const res = yield* Effect.promise(() => fetch(first.url));
          expect(yield* Effect.promise(() => res.text())).toBe("hi");
          const second = yield* Effect.either(
            serveHttp({
              host: "127.0.0.1",
              port: first.port,
              handler: () => {},
              portSetting: "POCKET_X__PORT",
            }),
          );
          expect(Either.isLeft(second)).toBe(true);
          if (Either.isLeft(second))
            expect(second.left.message).toMatch(/^PORT_IN_USE: Port \d+ .*already in use.*POCKET_X__PORT/);
        }),
      ),
    );
  });

  it("checks a port before an app commits to it: a taken one fails as serveHttp would, a free one stays free", async () => {
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const first = yield* serveHttp({ host: "127.0.0.1", port: 0, handler: (_q, s) => s.end("hi") });
          const taken = yield* Effect.either(
            checkPortFree({ host: "127.0.0.1", port: first.port, portSetting: "POCKET_X__PORT" }),
          );
          expect(Either.isLeft(taken)).toBe(true);
          if (Either.isLeft(taken))
            expect(taken.left.message).toMatch(/^PORT_IN_USE: Port \d+ .*already in use.*POCKET_X__PORT/);
        }),
      ),
    );
    // A port found free is given back at once: the server that checked it can listen there.
    const port = await Effect.runPromise(
      Effect.scoped(Effect.map(serveHttp({ host: "127.0.0.1", port: 0, handler: () => {} }), (s) => s.port)),
    );
    await Effect.runPromise(checkPortFree({ host: "127.0.0.1", port }));
    const again = await Effect.runPromise(
      Effect.scoped(Effect.map(serveHttp({ host: "127.0.0.1", port, handler: () => {} }), (s) => s.port)),
    );
    expect(again).toBe(port);
  });

  it("lets an in-flight request finish when the scope closes", async () => {
    let arrived: () => void = () => {};
    const inHandler = new Promise<void>((r) => {
      arrived = r;
    });
    const response = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const s = yield* serveHttp({
            host: "127.0.0.1",
            port: 0,
            handler: (_q, res) => {
              arrived();
              setTimeout(() => res.end("done"), 150);
            },
          });
          const pending = fetch(s.url).then((r) => r.text());
          yield* Effect.promise(() => inHandler);
          return pending;
        }),
      ),
    );
    expect(await response).toBe("done");
  });
});
