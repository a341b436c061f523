import { Cause, Chunk, Effect, Exit, Fiber, Option, Stream } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import { backendConfig } from "../../../test/fakes/backend-config.js";
import { latch, until } from "../../../test/fakes/fake-server.js";
import { type FakeTextEngine, startFakeVllm } from "../../../test/fakes/fake-vllm.js";
import type { BackendConfig } from "../../config/node-config.js";
import { type Backend, BackendTimeout } from "../backend.js";
import { makeOpenAICompatibleBackend } from "../openai-compatible/openai-compatible.js";
import { type BackendObserver, type CallOutcome, makeBackendPool, type PoolError } from "./backend-pool.js";

const fakes: FakeTextEngine[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((fake) => fake.close()));
});

async function engines(count: number, overrides: Partial<BackendConfig> = {}) {
  const made: { fake: FakeTextEngine; backend: Backend; config: BackendConfig }[] = [];
  for (let i = 0; i < count; i++) {
    const fake = await startFakeVllm();
    fakes.push(fake);
    const config = backendConfig({ kind: "vllm", url: fake.url, timeoutMs: 2_000, ...overrides });
    made.push({
      fake,
      config,
      backend: makeOpenAICompatibleBackend({ ...config, kind: "vllm", url: fake.url }),
    });
  }
  return made;
}

function failureOf<A>(exit: Exit.Exit<A, PoolError>): PoolError {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure");
  const failure = Cause.failureOption(exit.cause);
  if (Option.isNone(failure)) throw new Error(Cause.pretty(exit.cause));
  return failure.value;
}

const completion = { prompt: "hello there", max_tokens: 2 };
const chat = { messages: [{ role: "user", content: "hello there" }], max_tokens: 2 };
const run = <A, E>(effect: Effect.Effect<A, E, import("effect").Scope.Scope>) =>
  Effect.runPromise(Effect.scoped(effect));
/** Waits (polling) until `condition` holds: what the pool has done, never how long it took. */
const waitUntil = (condition: () => boolean, what: string) => Effect.promise(() => until(condition, what));

describe("backend pool", () => {
  it("retries a 500 on the other backend", async () => {
    const [a, b] = await engines(2);
    a!.fake.faults.fail = { status: 500 };
    const calls: [string, string, CallOutcome][] = [];
    const observer: BackendObserver = {
      onCall: (id, operation, _seconds, outcome) => calls.push([id, operation, outcome]),
    };
    await run(
      Effect.gen(function* () {
        const pool = yield* makeBackendPool("svc", [a!.backend, b!.backend], [a!.config, b!.config], {
          observer,
        });
        const response = yield* pool.completions(completion);
        expect(response.object).toBe("text_completion");
      }),
    );
    expect(a!.fake.calls["POST /v1/completions"]).toBe(1);
    expect(b!.fake.calls["POST /v1/completions"]).toBe(1);
    expect(calls).toEqual([
      [a!.backend.id, "completions", "unavailable"],
      [b!.backend.id, "completions", "ok"],
    ]);
  });

  it("does not retry timeouts or rejections", async () => {
    const [a, b] = await engines(2, { timeoutMs: 150 });
    const pool = () => makeBackendPool("svc", [a!.backend, b!.backend], [a!.config, b!.config]);
    a!.fake.faults.hang = true;
    await run(
      Effect.gen(function* () {
        expect(failureOf(yield* Effect.exit((yield* pool()).completions(completion)))._tag).toBe(
          "BackendTimeout",
        );
      }),
    );
    // At most the one call (on a busy machine the timeout can pass before it even arrives), and
    // never a retry on the other engine.
    expect(a!.fake.calls["POST /v1/completions"] ?? 0).toBeLessThanOrEqual(1);
    expect(b!.fake.calls["POST /v1/completions"]).toBeUndefined();
    // Rejections, on engines with an ordinary timeout (a loaded machine must not turn them into timeouts).
    const [c, d] = await engines(2);
    c!.fake.faults.fail = { status: 400, times: 1 };
    await run(
      Effect.gen(function* () {
        const rejecting = yield* makeBackendPool("svc", [c!.backend, d!.backend], [c!.config, d!.config]);
        expect(failureOf(yield* Effect.exit(rejecting.completions(completion)))._tag).toBe("BackendRejected");
      }),
    );
    expect(c!.fake.calls["POST /v1/completions"]).toBe(1);
    expect(d!.fake.calls["POST /v1/completions"]).toBeUndefined();
  });

  it("ends a call at the caller's deadline, in flight or queued, with the deadline's error", async () => {
    const [a] = await engines(1, { maxConcurrency: 1, maxQueue: 4, timeoutMs: 60_000 });
    a!.fake.faults.hang = true;
    const deadline = () => ({
      at: performance.now() + 150,
      error: () => new BackendTimeout({ backend: "svc", timeoutMs: 150 }),
    });
    const outcomes: CallOutcome[] = [];
    const observer: BackendObserver = {
      onCall: (_id, _operation, _seconds, outcome) => outcomes.push(outcome),
    };
    await run(
      Effect.gen(function* () {
        const pool = yield* makeBackendPool("svc", [a!.backend], [a!.config], { observer });
        const inFlight = yield* Effect.fork(Effect.exit(pool.chatCompletions(chat, deadline())));
        yield* waitUntil(() => pool.stats().inFlight === 1, "one call in flight");
        const queued = yield* Effect.exit(pool.completions(completion, deadline()));
        for (const exit of [yield* Fiber.join(inFlight), queued]) {
          expect(failureOf(exit)).toMatchObject({ _tag: "BackendTimeout", backend: "svc", timeoutMs: 150 });
        }
        expect(pool.stats()).toMatchObject({ inFlight: 0, queueDepth: 0 });
      }),
    );
    // The call in flight timed out on its engine request; the queued one may have got the seat
    // back just before its own deadline (then interrupted there).
    expect(outcomes[0]).toBe("timeout");
  });

  it("serves a call in callbacks on a free seat: the seat freed and the call reported once, a cancel aborting the engine request, a 500 retried through the Effect form", async () => {
    const [a, b] = await engines(2, { maxConcurrency: 1 });
    const calls: [string, CallOutcome][] = [];
    const observer: BackendObserver = {
      onCall: (id, _operation, _seconds, outcome) => calls.push([id, outcome]),
    };
    await run(
      Effect.gen(function* () {
        const pool = yield* makeBackendPool("svc", [a!.backend], [a!.config], { observer });
        const answered = yield* Effect.promise(
          () =>
            new Promise<Effect.Effect<Record<string, unknown>, PoolError>>((resolve) => {
              expect(pool.startUnary("chat.completions", chat, undefined, resolve)).toBeDefined();
              expect(pool.stats().inFlight).toBe(1);
            }),
        );
        expect(Exit.isExit(answered) && Exit.isSuccess(answered)).toBe(true);
        expect(pool.stats().inFlight).toBe(0);
        // Cancelled mid-call: the engine's request aborted, the seat freed, `done` never called.
        a!.fake.faults.hang = true;
        let done = 0;
        const cancel = pool.startUnary("completions", completion, undefined, () => done++);
        yield* waitUntil(() => (a!.fake.calls["POST /v1/completions"] ?? 0) > 0, "the engine's call");
        // The one seat is taken: a second call is left to the Effect form.
        expect(pool.startUnary("completions", completion, undefined, () => done++)).toBeUndefined();
        cancel?.();
        cancel?.();
        yield* Effect.promise(() => a!.fake.waitForAbort(1));
        expect(pool.stats().inFlight).toBe(0);
        expect(done).toBe(0);
        a!.fake.faults.hang = false;
      }),
    );
    expect(calls).toEqual([
      [a!.backend.id, "ok"],
      [a!.backend.id, "interrupted"],
    ]);
    calls.length = 0;
    a!.fake.faults.fail = { status: 500 };
    await run(
      Effect.gen(function* () {
        const pool = yield* makeBackendPool("svc", [a!.backend, b!.backend], [a!.config, b!.config], {
          observer,
        });
        // Both seats free and never picked: the first backend, `a`, takes the call.
        const retry = yield* Effect.promise(
          () =>
            new Promise<Effect.Effect<Record<string, unknown>, PoolError>>((resolve) =>
              pool.startUnary("completions", completion, undefined, resolve),
            ),
        );
        expect(Exit.isExit(retry)).toBe(false);
        expect((yield* retry).object).toBe("text_completion");
        expect(pool.stats().inFlight).toBe(0);
      }),
    );
    expect(calls).toEqual([
      [a!.backend.id, "unavailable"],
      [b!.backend.id, "ok"],
    ]);
  });

  it("fails fast with BackendBusy when every seat and the queue are taken", async () => {
    const [a] = await engines(1, { maxConcurrency: 1, maxQueue: 1 });
    const engine = latch();
    a!.fake.faults.gate = engine.promise;
    await run(
      Effect.gen(function* () {
        const pool = yield* makeBackendPool("svc", [a!.backend], [a!.config]);
        const first = yield* Effect.fork(pool.completions(completion));
        const second = yield* Effect.fork(pool.completions(completion));
        yield* waitUntil(
          () => pool.stats().inFlight === 1 && pool.stats().queueDepth === 1,
          "one call in flight and one queued",
        );
        const third = yield* Effect.exit(pool.completions(completion));
        expect(failureOf(third)).toMatchObject({ _tag: "BackendBusy", serviceId: "svc" });
        // Refused at once: the first call is still held by the engine, so the third did not wait its turn.
        expect(pool.stats()).toMatchObject({ inFlight: 1, queueDepth: 1 });
        engine.open();
        yield* Fiber.join(first);
        yield* Fiber.join(second);
        expect(pool.stats()).toMatchObject({ inFlight: 0, queueDepth: 0 });
      }),
    );
    expect(a!.fake.calls["POST /v1/completions"]).toBe(2);
  });

  it("gives the seat back when a queued relay is interrupted", async () => {
    const [a] = await engines(1, { maxConcurrency: 1, maxQueue: 4 });
    const engine = latch();
    a!.fake.faults.gate = engine.promise;
    await run(
      Effect.gen(function* () {
        const pool = yield* makeBackendPool("svc", [a!.backend], [a!.config]);
        const first = yield* Effect.fork(pool.completions(completion));
        yield* waitUntil(() => pool.stats().inFlight === 1, "the first call in flight");
        const queued = yield* Effect.fork(pool.completions(completion));
        yield* waitUntil(() => pool.stats().queueDepth === 1, "the second call queued");
        yield* Fiber.interrupt(queued);
        expect(pool.stats().queueDepth).toBe(0);
        engine.open();
        yield* Fiber.join(first);
        expect(pool.stats().inFlight).toBe(0);
        yield* pool.completions(completion);
      }),
    );
    expect(a!.fake.calls["POST /v1/completions"]).toBe(2);
  });

  it("spreads relays over the least busy backends", async () => {
    const [a, b] = await engines(2);
    // Both engines hold every call until all four have arrived: none finishes early to free its seat.
    const engine = latch();
    a!.fake.faults.gate = engine.promise;
    b!.fake.faults.gate = engine.promise;
    const arrived = () =>
      (a!.fake.calls["POST /v1/completions"] ?? 0) + (b!.fake.calls["POST /v1/completions"] ?? 0);
    await run(
      Effect.gen(function* () {
        const pool = yield* makeBackendPool("svc", [a!.backend, b!.backend], [a!.config, b!.config]);
        const all = yield* Effect.fork(
          Effect.all(
            Array.from({ length: 4 }, () => pool.completions(completion)),
            { concurrency: "unbounded" },
          ),
        );
        yield* waitUntil(() => arrived() === 4, "four calls at the engines");
        engine.open();
        yield* Fiber.join(all);
      }),
    );
    expect(a!.fake.calls["POST /v1/completions"]).toBe(2);
    expect(b!.fake.calls["POST /v1/completions"]).toBe(2);
  });

  it("skips an unhealthy backend and uses it again once it recovers", async () => {
    const [a, b] = await engines(2);
    const changes: [string, boolean][] = [];
    await run(
      Effect.gen(function* () {
        const pool = yield* makeBackendPool("svc", [a!.backend, b!.backend], [a!.config, b!.config], {
          healthIntervalMs: 60_000,
          observer: { onCall: () => {}, onHealthChange: (id, healthy) => changes.push([id, healthy]) },
        });
        a!.fake.faults.unhealthy = true;
        yield* pool.checkHealth;
        expect(pool.stats().backends.map((backend) => backend.healthy)).toEqual([false, true]);
        for (let i = 0; i < 3; i++) yield* pool.completions(completion);
        expect(a!.fake.calls["POST /v1/completions"]).toBeUndefined();
        expect(b!.fake.calls["POST /v1/completions"]).toBe(3);
        a!.fake.faults.unhealthy = false;
        yield* pool.checkHealth;
        yield* pool.completions(completion);
        expect(a!.fake.calls["POST /v1/completions"]).toBe(1);
        b!.fake.faults.unhealthy = true;
        a!.fake.faults.unhealthy = true;
        yield* pool.checkHealth;
        const down = failureOf(yield* Effect.exit(pool.completions(completion)));
        expect(down).toMatchObject({ _tag: "BackendUnavailable", reason: "no healthy backend" });
      }),
    );
    expect(changes.slice(0, 2)).toEqual([
      [a!.backend.id, false],
      [a!.backend.id, true],
    ]);
    expect(new Set(changes.slice(2).map(([id, healthy]) => `${id} ${healthy}`))).toEqual(
      new Set([`${a!.backend.id} false`, `${b!.backend.id} false`]),
    );
  });

  it("checks health on its schedule and stops when its scope closes", async () => {
    const [a] = await engines(1);
    await run(
      Effect.gen(function* () {
        const pool = yield* makeBackendPool("svc", [a!.backend], [a!.config], { healthIntervalMs: 20 });
        // Only the schedule probes here (no call asks for a check): each change is seen by a later probe.
        a!.fake.faults.unhealthy = true;
        yield* waitUntil(() => pool.stats().backends[0]?.healthy === false, "a probe to see the engine down");
        a!.fake.faults.unhealthy = false;
        yield* waitUntil(() => pool.stats().backends[0]?.healthy === true, "a probe to see it back");
      }),
    );
    const atClose = a!.fake.calls["GET /v1/models"] ?? 0;
    expect(atClose).toBeGreaterThanOrEqual(2);
    // A probe in flight when the scope closed may still reach the fake; after that, silence. Ten
    // intervals pass: a schedule still running would probe again (this wait cannot fail a correct pool).
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((a!.fake.calls["GET /v1/models"] ?? 0) - atClose).toBeLessThanOrEqual(1);
  });

  it("retries a stream on another backend only before its first piece", async () => {
    const [a, b] = await engines(2);
    await run(
      Effect.gen(function* () {
        const pool = yield* makeBackendPool("svc", [a!.backend, b!.backend], [a!.config, b!.config]);
        a!.fake.faults.fail = { status: 502, times: 1 };
        const pieces = yield* Stream.runCollect(pool.stream("completions", { ...completion, max_tokens: 3 }));
        expect(Chunk.size(pieces)).toBe(4);
        expect(b!.fake.calls["POST /v1/completions"]).toBe(1);
        expect(pool.stats().inFlight).toBe(0);

        a!.fake.faults.dropAfterPieces = 1;
        const seen: unknown[] = [];
        const exit = yield* Effect.exit(
          Stream.runForEach(pool.stream("completions", { ...completion, max_tokens: 3 }), (piece) =>
            Effect.sync(() => seen.push(piece)),
          ),
        );
        expect(seen).toHaveLength(1);
        expect(failureOf(exit)._tag).toBe("BackendUnavailable");
        expect(b!.fake.calls["POST /v1/completions"]).toBe(1);
        expect(pool.stats().inFlight).toBe(0);
      }),
    );
  });

  it("opens a stream as a plain iterator: retried before its first piece, the seat held until its scope closes", async () => {
    const [a, b] = await engines(2);
    await run(
      Effect.gen(function* () {
        const pool = yield* makeBackendPool("svc", [a!.backend, b!.backend], [a!.config, b!.config]);
        a!.fake.faults.fail = { status: 502, times: 1 };
        const pieces = yield* Effect.scoped(
          Effect.gen(function* () {
            const iterator = yield* pool.open("completions", { ...completion, max_tokens: 3 });
            expect(pool.stats().inFlight).toBe(1);
            const seen: unknown[] = [];
            for (;;) {
              const next = yield* Effect.promise(() => iterator.next());
              if (next.done === true) return seen;
              seen.push(next.value);
            }
          }),
        );
        expect(pieces).toHaveLength(4);
        expect(b!.fake.calls["POST /v1/completions"]).toBe(1);
        expect(pool.stats().inFlight).toBe(0);

        a!.fake.faults.dropAfterPieces = 1;
        b!.fake.faults.dropAfterPieces = 1;
        const failure = yield* Effect.scoped(
          Effect.gen(function* () {
            const iterator = yield* pool.open("completions", { ...completion, max_tokens: 3 });
            yield* Effect.promise(() => iterator.next());
            return yield* Effect.promise(() =>
              iterator.next().then(
                () => undefined,
                (e: unknown) => e,
              ),
            );
          }),
        );
        expect((failure as { _tag?: string })._tag).toBe("BackendUnavailable");
        expect(pool.stats().inFlight).toBe(0);
      }),
    );
  });

  it("ends a stream's opening when its signal aborts, waiting for the engine's head or its first piece", async () => {
    const [a] = await engines(1, { timeoutMs: 60_000 });
    const timeout = new BackendTimeout({ backend: "svc", timeoutMs: 7 });
    await run(
      Effect.gen(function* () {
        const pool = yield* makeBackendPool("svc", [a!.backend], [a!.config]);
        const opening = (signal: AbortSignal) =>
          Effect.exit(Effect.scoped(pool.open("completions", { ...completion, max_tokens: 3 }, signal)));
        // No head at all, then a head and no piece: each time the signal ends the wait, with its
        // error; the engine's call is aborted and the seat given back.
        const faults = [
          () => {
            a!.fake.faults.hang = true;
          },
          () => {
            a!.fake.faults.hang = false;
            a!.fake.faults.pieceGate = { after: 0, open: new Promise<void>(() => undefined) };
          },
        ];
        for (const [i, fault] of faults.entries()) {
          fault();
          const controller = new AbortController();
          const fiber = yield* Effect.fork(opening(controller.signal));
          yield* waitUntil(() => (a!.fake.calls["POST /v1/completions"] ?? 0) > i, "the engine's call");
          expect(pool.stats().inFlight).toBe(1);
          controller.abort(timeout);
          expect(failureOf(yield* Fiber.join(fiber))).toBe(timeout);
          yield* Effect.promise(() => a!.fake.waitForAbort(i + 1));
          expect(pool.stats().inFlight).toBe(0);
        }
        // A signal already aborted: no seat, no call.
        const aborted = new AbortController();
        aborted.abort(timeout);
        expect(failureOf(yield* opening(aborted.signal))).toBe(timeout);
        expect(a!.fake.calls["POST /v1/completions"]).toBe(2);
        // A signal aborted with anything else: the backend unavailable for this call.
        a!.fake.faults.pieceGate = null;
        const other = new AbortController();
        other.abort(new Error("gone"));
        expect(failureOf(yield* opening(other.signal))._tag).toBe("BackendUnavailable");
        // Without an abort, the signal changes nothing.
        const iterator = yield* Effect.scoped(
          pool.open("completions", { ...completion, max_tokens: 3 }, new AbortController().signal),
        );
        expect((yield* Effect.promise(() => iterator.next())).done).toBe(false);
      }),
    );
  });

  it("takes a stream queued for a seat out of the queue when its signal aborts, and leaks no seat", async () => {
    const [a] = await engines(1, { maxConcurrency: 1, maxQueue: 1, timeoutMs: 60_000 });
    const rest = latch();
    a!.fake.faults.pieceGate = { after: 1, open: rest.promise };
    const timeout = new BackendTimeout({ backend: "svc", timeoutMs: 7 });
    await run(
      Effect.gen(function* () {
        const pool = yield* makeBackendPool("svc", [a!.backend], [a!.config]);
        let received = 0;
        const holding = yield* Effect.fork(
          Stream.runForEach(pool.stream("completions", { ...completion, max_tokens: 3 }), () =>
            Effect.sync(() => {
              received += 1;
            }),
          ),
        );
        yield* waitUntil(() => received > 0, "the first stream's first piece");
        const controller = new AbortController();
        const queued = yield* Effect.fork(
          Effect.exit(Effect.scoped(pool.open("completions", completion, controller.signal))),
        );
        yield* waitUntil(() => pool.stats().queueDepth === 1, "the second stream queued");
        controller.abort(timeout);
        expect(failureOf(yield* Fiber.join(queued))).toBe(timeout);
        expect(pool.stats().queueDepth).toBe(0);
        expect(a!.fake.calls["POST /v1/completions"]).toBe(1);
        rest.open();
        yield* Fiber.join(holding);
        expect(pool.stats().inFlight).toBe(0);
        const pieces = yield* Stream.runCollect(pool.stream("completions", completion));
        expect(Chunk.size(pieces)).toBeGreaterThan(0);
      }),
    );
  });

  it("aborts the engine request and frees the seat when a pooled stream is interrupted", async () => {
    const [a] = await engines(1);
    // The engine sends one piece and holds the stream open: only the interruption can end it.
    const rest = latch();
    a!.fake.faults.pieceGate = { after: 1, open: rest.promise };
    await run(
      Effect.gen(function* () {
        const pool = yield* makeBackendPool("svc", [a!.backend], [a!.config]);
        const fiber = yield* Effect.fork(
          Stream.runDrain(pool.stream("completions", { prompt: "x", max_tokens: 500 })),
        );
        // Interrupt only once the engine is answering, whatever the machine's load.
        yield* waitUntil(() => (a!.fake.calls["POST /v1/completions"] ?? 0) > 0, "the engine's call");
        expect(pool.stats().inFlight).toBe(1);
        yield* Fiber.interrupt(fiber);
        yield* Effect.promise(() => a!.fake.waitForAbort(1));
        expect(pool.stats().inFlight).toBe(0);
      }),
    );
    rest.open();
  });

  it("holds the seat for the whole stream", async () => {
    const [a] = await engines(1, { maxConcurrency: 1, maxQueue: 0 });
    // The engine sends the first piece, then holds the stream open until the test lets it go on.
    const rest = latch();
    a!.fake.faults.pieceGate = { after: 1, open: rest.promise };
    let received = 0;
    await run(
      Effect.gen(function* () {
        const pool = yield* makeBackendPool("svc", [a!.backend], [a!.config]);
        const streaming = yield* Effect.fork(
          Stream.runForEach(pool.stream("chat.completions", { messages: [], max_tokens: 5 }), () =>
            Effect.sync(() => {
              received += 1;
            }),
          ),
        );
        yield* waitUntil(() => received > 0, "the stream's first piece");
        expect(failureOf(yield* Effect.exit(pool.completions(completion)))._tag).toBe("BackendBusy");
        rest.open();
        yield* Fiber.join(streaming);
        yield* pool.completions(completion);
      }),
    );
  });

  it("declares only what every backend can do", async () => {
    const [a] = await engines(1);
    const ollama = makeOpenAICompatibleBackend({ ...a!.config, kind: "ollama", url: a!.fake.url });
    await run(
      Effect.gen(function* () {
        const pool = yield* makeBackendPool("svc", [a!.backend, ollama], [a!.config, a!.config]);
        expect(pool.capabilities).toMatchObject({
          completions: true,
          promptLogprobs: false,
          tokenize: false,
          images: null,
        });
      }),
    );
  });
});
