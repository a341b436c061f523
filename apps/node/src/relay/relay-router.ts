import { type Context, Effect, Either, Runtime, Stream } from "effect";
import { z } from "zod";
import type { NodeInfo } from "../info/node-info.js";
import { publicProcedure, router, trpcErrorOf } from "../trpc.js";
import type { RelayService } from "./relay-service.js";

/**
 * The node's tRPC API, called by gateways: `relay` (unary), `relayStream` (signed chunks as they
 * come; a client that goes away aborts the backend request), `info` and `health`. Inputs are
 * `unknown` on purpose: the protocol verifies envelopes itself and answers with coded errors.
 */
export function makeNodeRouter(deps: {
  readonly relay: Context.Tag.Service<RelayService>;
  readonly info: () => NodeInfo;
  readonly health: () => { readonly ok: boolean; readonly backends: Record<string, boolean> };
}) {
  const run = Runtime.runPromise(Runtime.defaultRuntime);
  return router({
    relay: publicProcedure.input(z.unknown()).mutation(async ({ input, signal }) => {
      const result = await run(
        Effect.either(deps.relay.unary(input)),
        signal === undefined ? {} : { signal },
      );
      if (Either.isLeft(result)) throw trpcErrorOf(result.left.error);
      return result.right;
    }),
    relayStream: publicProcedure.input(z.unknown()).mutation(async function* ({ input, signal }) {
      const opened = await run(
        Effect.either(deps.relay.stream(input)),
        signal === undefined ? {} : { signal },
      );
      if (Either.isLeft(opened)) throw trpcErrorOf(opened.left.error);
      yield* Stream.toAsyncIterable(opened.right);
    }),
    info: publicProcedure.query(() => deps.info()),
    health: publicProcedure.query(() => deps.health()),
  });
}

export type NodeRouter = ReturnType<typeof makeNodeRouter>;
