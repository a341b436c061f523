import { Deferred, Effect, Exit, type Scope } from "effect";
import { abortedError, BackendBusy, type BackendError, BackendUnavailable } from "../backend.js";
import { onScopeClose } from "../scope-finalizer.js";

/** One backend's seats: how many relays it runs now, how many it may, whether it is up. */
export interface SlotMember {
  readonly maxConcurrency: number;
  readonly maxQueue: number;
  inFlight: number;
  healthy: boolean;
  /** When it was last handed a relay, to spread ties between equally idle backends. */
  lastPicked: number;
}

interface Waiter {
  readonly exclude: ReadonlySet<number>;
  readonly deferred: Deferred.Deferred<number, BackendError>;
  assigned: number | undefined;
}

/**
 * The seats of a pool of backends and the one queue in front of them. All state changes are
 * synchronous (single-threaded JS), so there is no check-then-act race between fibers.
 *
 * A relay takes a free seat on the healthy backend with the fewest relays in flight; otherwise it
 * waits in a FIFO queue whose size is the sum of the healthy backends' `maxQueue`, and gets the
 * first seat that frees anywhere; past that it fails at once with BackendBusy, so a burst never
 * piles up behind a slow engine.
 */
export class BackendSlots {
  #waiters: Waiter[] = [];
  #picks = 0;

  constructor(
    readonly serviceId: string,
    readonly members: readonly SlotMember[],
  ) {}

  get queueDepth(): number {
    return this.#waiters.length;
  }

  /** Whether some healthy backend outside `exclude` could ever serve a relay. */
  hasCandidate(exclude: ReadonlySet<number>): boolean {
    return this.members.some((member, index) => member.healthy && !exclude.has(index));
  }

  /**
   * A seat for the scope's lifetime: its index in `members`. Waiting in the queue stays
   * interruptible (a caller's timeout works while queued); a seat handed over at the instant of
   * interruption is given back, never leaked. A `signal` that aborts while the relay is queued
   * takes it out of the queue and fails the wait with `abortedError` of it.
   */
  acquire(
    exclude: ReadonlySet<number>,
    signal?: AbortSignal,
  ): Effect.Effect<number, BackendBusy | BackendError, Scope.Scope> {
    return Effect.uninterruptibleMask((restore) => BackendSlots.#seat(this, exclude, restore, signal));
  }

  /** {@link acquire}'s body, one generator for every call (see `tooling/bench`, thirteenth round). */
  static readonly #seat = Effect.fnUntraced(function* (
    slots: BackendSlots,
    exclude: ReadonlySet<number>,
    restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>,
    signal: AbortSignal | undefined,
  ) {
    if (signal?.aborted === true) return yield* Effect.fail(abortedError(signal, `pool:${slots.serviceId}`));
    if (!slots.hasCandidate(exclude)) {
      return yield* new BackendUnavailable({
        backend: `pool:${slots.serviceId}`,
        reason: "no healthy backend",
      });
    }
    let index = slots.#freeMember(exclude);
    if (index !== undefined) {
      slots.#take(index);
    } else {
      if (slots.#waiters.length >= slots.#queueCapacity(exclude)) {
        return yield* new BackendBusy({ serviceId: slots.serviceId });
      }
      const waiter: Waiter = {
        exclude,
        deferred: yield* Deferred.make<number, BackendError>(),
        assigned: undefined,
      };
      slots.#waiters.push(waiter);
      // A seat handed over first stays this relay's (its next step sees the signal and fails).
      const onAbort = () => {
        if (waiter.assigned !== undefined || signal === undefined) return;
        slots.#waiters = slots.#waiters.filter((other) => other !== waiter);
        Deferred.unsafeDone(waiter.deferred, Exit.fail(abortedError(signal, `pool:${slots.serviceId}`)));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      index = yield* restore(Deferred.await(waiter.deferred)).pipe(
        Effect.onInterrupt(() => Effect.sync(() => slots.#cancel(waiter))),
        Effect.ensuring(Effect.sync(() => signal?.removeEventListener("abort", onAbort))),
      );
    }
    const seat = index;
    yield* onScopeClose(() => slots.release(seat));
    return seat;
  });

  /**
   * A free seat taken at once, without a scope: its index, or `undefined` when none is free now
   * (the caller then goes through {@link acquire}, which queues or refuses). The caller must
   * {@link release} it, and must call this where it cannot be interrupted before it can.
   */
  tryTake(exclude: ReadonlySet<number>): number | undefined {
    if (!this.hasCandidate(exclude)) return undefined;
    const index = this.#freeMember(exclude);
    if (index !== undefined) this.#take(index);
    return index;
  }

  /** Frees a seat: the first queued relay that may use this backend takes it over. */
  release(index: number): void {
    const member = this.members[index];
    if (member === undefined) return;
    member.inFlight -= 1;
    this.#dispatch();
  }

  /** Records a health check; a recovered backend serves the queue at once. */
  setHealthy(index: number, healthy: boolean): void {
    const member = this.members[index];
    if (member === undefined || member.healthy === healthy) return;
    member.healthy = healthy;
    if (healthy) {
      this.#dispatch();
      return;
    }
    // Relays queued for backends that are all down now would wait for nothing.
    for (const waiter of [...this.#waiters]) {
      if (this.hasCandidate(waiter.exclude)) continue;
      this.#waiters = this.#waiters.filter((other) => other !== waiter);
      const reason = "every backend this relay could use went down while it was queued";
      Deferred.unsafeDone(
        waiter.deferred,
        Exit.fail(new BackendUnavailable({ backend: `pool:${this.serviceId}`, reason })),
      );
    }
  }

  #freeMember(exclude: ReadonlySet<number>): number | undefined {
    let best: number | undefined;
    this.members.forEach((member, index) => {
      if (!member.healthy || exclude.has(index) || member.inFlight >= member.maxConcurrency) return;
      const current = best === undefined ? undefined : this.members[best];
      if (
        current === undefined ||
        member.inFlight < current.inFlight ||
        (member.inFlight === current.inFlight && member.lastPicked < current.lastPicked)
      ) {
        best = index;
      }
    });
    return best;
  }

  #take(index: number): void {
    const member = this.members[index];
    if (member === undefined) return;
    member.inFlight += 1;
    this.#picks += 1;
    member.lastPicked = this.#picks;
  }

  #queueCapacity(exclude: ReadonlySet<number>): number {
    return this.members.reduce(
      (sum, member, index) => (member.healthy && !exclude.has(index) ? sum + member.maxQueue : sum),
      0,
    );
  }

  #dispatch(): void {
    for (const waiter of [...this.#waiters]) {
      const free = this.#freeMember(waiter.exclude);
      if (free === undefined) continue;
      this.#take(free);
      this.#waiters = this.#waiters.filter((other) => other !== waiter);
      waiter.assigned = free;
      Deferred.unsafeDone(waiter.deferred, Exit.succeed(free));
    }
  }

  #cancel(waiter: Waiter): void {
    this.#waiters = this.#waiters.filter((other) => other !== waiter);
    if (waiter.assigned !== undefined) this.release(waiter.assigned);
  }
}
