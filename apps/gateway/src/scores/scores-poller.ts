import { makeScoreboardClient } from "@pocket-ai/link";
import { type NodeScore, type Scoreboard, ScoreboardForReaders } from "@pocket-ai/protocol";
import { Clock, Context, Effect, Layer } from "effect";
import { RoutingSettings } from "../routing/routing-config.js";
import { scoreboardCallTimeout, scoresPollSchedule } from "../routing/schedules.js";

export interface ScoresState {
  readonly evaluator: string | undefined;
  readonly generatedAt: number | undefined;
  /** When the last board was accepted (Unix ms). */
  readonly fetchedAt: number | undefined;
  /** The last poll's failure, while the evaluator is unreachable or answers off-schema. */
  readonly lastError: string | undefined;
  /**
   * The newest entry's own `updatedAt` in the board kept (Unix ms; undefined while none): how old
   * what routing trusts is, whatever `generatedAt` says (an evaluator whose runs keep failing
   * still serves its last entries under a fresh `generatedAt`).
   */
  readonly newestEntryAt: number | undefined;
}

/**
 * Share of its score a node keeps in routing while the evaluator reports a cheating finding
 * against it (`penalties`: a failed model test, answers from the public key, made-up logprobs).
 */
export const PENALTY_WEIGHT = 0.1;

const penalised = (entry: NodeScore) => (entry.penalties?.length ?? 0) > 0;

/**
 * Keeps the latest scoreboard; a failed poll keeps the previous one, however old (its tiers are not
 * dropped: the operator sees its age, `ageMs`, on /metrics and in a warning past `staleAfterMs`).
 */
export class ScoreBook {
  private byNode = new Map<string, NodeScore[]>();
  private state: ScoresState = {
    evaluator: undefined,
    generatedAt: undefined,
    fetchedAt: undefined,
    lastError: undefined,
    newestEntryAt: undefined,
  };
  private staleWarned = false;

  accept(board: Scoreboard, now: number): void {
    const byNode = new Map<string, NodeScore[]>();
    for (const entry of board.nodes) byNode.set(entry.address, [...(byNode.get(entry.address) ?? []), entry]);
    this.byNode = byNode;
    this.state = {
      evaluator: board.evaluator,
      generatedAt: board.generatedAt,
      fetchedAt: now,
      lastError: undefined,
      newestEntryAt: board.nodes.reduce<number | undefined>(
        (newest, e) => (newest === undefined || e.updatedAt > newest ? e.updatedAt : newest),
        undefined,
      ),
    };
  }

  /** Milliseconds since the newest entry kept was updated; undefined while no entry is kept. */
  ageMs(now: number): number | undefined {
    const at = this.state.newestEntryAt;
    return at === undefined ? undefined : Math.max(0, now - at);
  }

  /**
   * Whether the board kept just became older than `limitMs` (true once per crossing, to log once);
   * a fresh board afterwards arms it again.
   */
  becameStale(now: number, limitMs: number): boolean {
    const age = this.ageMs(now);
    const stale = age !== undefined && age > limitMs;
    const first = stale && !this.staleWarned;
    this.staleWarned = stale;
    return first;
  }

  /** Returns whether this is a new failure (the first since the last success), to log once. */
  fail(reason: string): boolean {
    const first = this.state.lastError === undefined;
    this.state = { ...this.state, lastError: reason };
    return first;
  }

  /** The node's score for a service it serves (its latest entry when `serviceId` is not given). */
  score(address: string, serviceId?: string): NodeScore | undefined {
    const entries = this.byNode.get(address) ?? [];
    return serviceId === undefined
      ? entries.reduce<NodeScore | undefined>(
          (a, b) => (a === undefined || b.updatedAt > a.updatedAt ? b : a),
          undefined,
        )
      : entries.find((e) => e.serviceId === serviceId);
  }

  /**
   * Scored (node, served service) pairs that qualify for a quality or skill service. An entry with
   * penalties (a cheating finding) never qualifies, even from an evaluator that still lists tiers.
   */
  qualifying(qualityServiceId: string): NodeScore[] {
    return [...this.byNode.values()]
      .flat()
      .filter((e) => e.qualifies.includes(qualityServiceId) && !penalised(e));
  }

  /**
   * The score routing weighs a node by on a service: the evaluator's overall mean, times
   * `PENALTY_WEIGHT` when the entry carries a cheating finding; undefined when unscored.
   */
  routingScore(address: string, serviceId?: string): number | undefined {
    const entry = this.score(address, serviceId);
    const mean = entry?.overall?.mean;
    if (entry === undefined || mean === undefined) return undefined;
    return penalised(entry) ? mean * PENALTY_WEIGHT : mean;
  }

  status(): ScoresState {
    return this.state;
  }
}

/** How long after start an unreachable evaluator is not reported. */
const EVALUATOR_STARTUP_GRACE_MS = 60_000;

/**
 * Fetches and validates one scoreboard. Fields this gateway does not know (added by a newer
 * evaluator) are dropped, not refused; a missing field or a wrong type is still off-schema.
 */
export function fetchScoreboard(url: string) {
  const client = makeScoreboardClient(url);
  return Effect.tryPromise({
    // `scores.board`, the path EVALUATOR_PROCEDURES.scoreboard names; the answer is still checked.
    try: (signal) => client.scores.board.query(undefined, { signal }),
    catch: (e) => `unreachable: ${e instanceof Error ? e.message : String(e)}`,
  }).pipe(
    Effect.timeoutFail({ duration: scoreboardCallTimeout, onTimeout: () => "timed out" }),
    Effect.flatMap((answer) => {
      const parsed = ScoreboardForReaders.safeParse(answer);
      return parsed.success
        ? Effect.succeed(parsed.data)
        : Effect.fail(
            `off-schema: ${parsed.error.issues[0]?.path.join(".")} ${parsed.error.issues[0]?.message}`,
          );
    }),
  );
}

/**
 * The evaluator's scores, polled every `evaluator.pollMs` from `scores.board`. Without an
 * evaluator configured the book stays empty: every node is neutral and no node qualifies for a
 * quality or skill service.
 */
export class ScoresPoller extends Context.Tag("gateway/ScoresPoller")<ScoresPoller, ScoreBook>() {
  static readonly layer = Layer.scoped(
    ScoresPoller,
    Effect.gen(function* () {
      const settings = yield* RoutingSettings;
      const book = new ScoreBook();
      const evaluator = settings.evaluator;
      if (evaluator === undefined) return book;
      const startedAt = yield* Clock.currentTimeMillis;
      let reachedOnce = false;
      const staleness = Effect.flatMap(Clock.currentTimeMillis, (now) =>
        book.becameStale(now, evaluator.staleAfterMs)
          ? Effect.logWarning(
              "evaluator scoreboard is stale: its newest entry is older than routing.evaluator.staleAfterMs; quality tiers still come from it (check the evaluator's log: its rounds may be failing)",
            ).pipe(
              Effect.annotateLogs({
                evaluator: evaluator.url,
                ageSeconds: Math.floor((book.ageMs(now) ?? 0) / 1000),
                staleAfterMs: evaluator.staleAfterMs,
              }),
            )
          : Effect.void,
      );
      const poll = fetchScoreboard(evaluator.url).pipe(
        Effect.flatMap((board) =>
          Effect.map(Clock.currentTimeMillis, (now) => {
            reachedOnce = true;
            book.accept(board, now);
          }),
        ),
        Effect.catchAll((reason) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) => {
            // An evaluator that starts after the gateway (a local network, a restart) is not news
            // for its first minute; after that, or once it had answered, it is.
            if (!reachedOnce && now - startedAt < EVALUATOR_STARTUP_GRACE_MS) return Effect.void;
            return book.fail(reason)
              ? Effect.logWarning("evaluator scoreboard unavailable; keeping the last one").pipe(
                  Effect.annotateLogs({ evaluator: evaluator.url, reason }),
                )
              : Effect.void;
          }),
        ),
      );
      yield* Effect.forkScoped(
        Effect.repeat(Effect.zipRight(poll, staleness), scoresPollSchedule(evaluator.pollMs)),
      );
      return book;
    }),
  );
}
