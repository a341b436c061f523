import { Effect, type Exit, Scope } from "effect";

/**
 * Runs `finalize` when the current scope closes, with the scope's exit. For plain synchronous
 * cleanup (free a seat, abort a request, report a call): unlike `Effect.addFinalizer`, it keeps
 * none of the acquiring fiber's context, so closing the scope does not diff and patch that fiber's
 * references for each finalizer. That work was a tenth of the node's CPU per streamed relay
 * (`tooling/bench`, fifteenth round). `finalize` must not throw: it runs as an `Effect.sync`.
 */
export const onScopeClose = (
  finalize: (exit: Exit.Exit<unknown, unknown>) => void,
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.flatMap(Effect.scope, (scope) =>
    Scope.addFinalizerExit(scope, (exit) => Effect.sync(() => finalize(exit))),
  );
