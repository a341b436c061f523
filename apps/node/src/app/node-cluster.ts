import cluster, { type Worker } from "node:cluster";
import { runMain } from "@pocket-ai/runtime";
import { Effect, Layer } from "effect";
import { NodeConfig } from "../config/node-config.js";
import { NodeDatabase } from "../db/node-database.js";
import { NodeIdentity } from "../identity/node-identity.js";
import { Metrics } from "../metrics/node-metrics.js";
import { Membership } from "../relay/session-membership.js";
import { NodeEndpoint } from "./node-server.js";
import { NodeSettings, NodeStartError } from "./node-settings.js";
import {
  type IpcChannel,
  ignoreSendError,
  nodeMessage,
  PrimaryLink,
  type ScrapedPart,
  type ToPrimary,
  type ToWorker,
  WorkerLink,
} from "./worker-link.js";

/** The environment variable that gives a worker its number (set by the primary when it forks it). */
const WORKER_ENV = "POCKET_NODE_WORKER";
/**
 * A worker that exits while the node runs is replaced after this long, doubled for each exit in a
 * row that came within {@link RESTART_RESET_MS} of its start (a worker that cannot run), up to
 * {@link RESTART_MAX_DELAY_MS}.
 */
const RESTART_DELAY_MS = 1_000;
const RESTART_MAX_DELAY_MS = 60_000;
const RESTART_RESET_MS = 30_000;
/** Admitted hashes held before the first sweep of the expired ones (amortized, as in the relay ledger). */
const FIRST_SWEEP_AT = 1_024;

/**
 * The primary's table of request hashes in flight, each held by the worker that admitted it: a
 * hash is granted to one worker at a time, so a replay sent to another worker while the first
 * still serves it is refused. A worker hands its hashes back once their rows are committed (the
 * database refuses a replay from then on); those of a worker that died are dropped with it.
 */
export class ClusterAdmissions {
  readonly #held = new Map<string, { readonly owner: number; readonly expiresAt: number | undefined }>();
  #sweepAt = FIRST_SWEEP_AT;

  admit(owner: number, hash: string, expiresAt: number | undefined, now: number): boolean {
    if (this.#held.has(hash)) return false;
    if (this.#held.size >= this.#sweepAt) this.#sweep(now);
    this.#held.set(hash, { owner, expiresAt });
    return true;
  }

  release(owner: number, hashes: readonly string[]): void {
    for (const hash of hashes) if (this.#held.get(hash)?.owner === owner) this.#held.delete(hash);
  }

  /** A worker is gone: its relays were never recorded, so they were never claimable. */
  dropOwner(owner: number): void {
    for (const [hash, held] of this.#held) if (held.owner === owner) this.#held.delete(hash);
  }

  get size(): number {
    return this.#held.size;
  }

  /** Forgets hashes whose session can no longer admit anything (a replay of them is refused anyway). */
  #sweep(now: number): void {
    for (const [hash, held] of this.#held)
      if (held.expiresAt !== undefined && held.expiresAt <= now) this.#held.delete(hash);
    this.#sweepAt = Math.max(FIRST_SWEEP_AT, this.#held.size * 2);
  }
}

/**
 * The primary's side of the workers' protocol (`worker-link.ts`): the shared admission table, the
 * gateways' candidate lists passed on to every worker (the latest to each that joins), and a
 * gateway one worker caught miscounting passed on to the others.
 */
export class ClusterHub {
  readonly admissions = new ClusterAdmissions();
  readonly #workers = new Map<
    number,
    { readonly send: (message: ToWorker) => void; readonly name: string }
  >();
  /**
   * Per gateway, its candidate lists so far (merged by service, as each worker's membership merges
   * one gateway's answers) and its latest set size: one message each, never one gateway's lists
   * under another's.
   */
  readonly #memberships = new Map<string, Extract<ToWorker, { pocket: "membership" }>>();
  /** Gateways a worker caught miscounting: every worker, a later one too, distrusts them. */
  readonly #distrusted = new Set<string>();
  #nextScrape = 0;
  /** The scrape gathering every worker's metrics now (one at a time: a scrape asked for meanwhile joins it). */
  #gathering: Scrape | undefined;
  /** The last scrape gathered, and when: shared with scrapes asked for soon after. */
  #recent: { readonly parts: readonly ScrapedPart[]; readonly at: number } | undefined;

  constructor(
    private readonly now: () => number = Date.now,
    /** The primary's own metrics (its claim loop's), part of every scrape. */
    private readonly renderOwn?: () => string,
  ) {}

  /**
   * A worker that can be sent to (it asked for its config), named in metrics by `name` (its
   * number): it hears the lists and the caught gateways at once.
   */
  join(worker: number, send: (message: ToWorker) => void, name = String(worker)): void {
    this.#workers.set(worker, { send, name });
    this.#recent = undefined;
    for (const membership of this.#memberships.values()) send(membership);
    for (const gateway of this.#distrusted) send({ pocket: "distrust", gateway });
  }

  /** A worker is gone: the hashes it held are dropped, and no scrape waits for it. */
  leave(worker: number): void {
    this.#workers.delete(worker);
    this.#recent = undefined;
    this.admissions.dropOwner(worker);
    const scrape = this.#gathering;
    if (scrape !== undefined) {
      scrape.pending.delete(worker);
      if (scrape.pending.size === 0) this.#finish(scrape.id);
    }
  }

  #finish(id: number): void {
    const scrape = this.#gathering;
    if (scrape === undefined || scrape.id !== id) return;
    this.#gathering = undefined;
    clearTimeout(scrape.timer);
    this.#recent = { parts: scrape.parts, at: this.now() };
    for (const { worker, id: askerId } of scrape.askers)
      this.#workers.get(worker)?.send({ pocket: "scraped", id: askerId, parts: scrape.parts });
  }

  /** A gateway's registration answer: passed on to every worker, and kept for those that join later. */
  membership(
    gateway: string,
    registry: Record<string, readonly { address: string }[]>,
    nodesPerSession: number,
  ): void {
    const message: Extract<ToWorker, { pocket: "membership" }> = {
      pocket: "membership",
      gateway,
      registry: { ...this.#memberships.get(gateway)?.registry, ...registry },
      nodesPerSession,
    };
    this.#memberships.set(gateway, message);
    for (const { send } of this.#workers.values()) send(message);
  }

  /** A message from a worker (anything not of the protocol is ignored). */
  receive(worker: number, raw: unknown): void {
    const message = nodeMessage(raw) as ToPrimary | undefined;
    // A message that arrives after its worker left (IPC data can outlive the exit) is dropped.
    if (message === undefined || !this.#workers.has(worker)) return;
    if (message.pocket === "admit" && typeof message.hash === "string" && typeof message.id === "number") {
      const expiresAt = typeof message.expiresAt === "number" ? message.expiresAt : undefined;
      const ok = this.admissions.admit(worker, message.hash, expiresAt, this.now());
      this.#workers.get(worker)?.send({ pocket: "admitted", id: message.id, ok });
    } else if (message.pocket === "release" && Array.isArray(message.hashes)) {
      this.admissions.release(worker, message.hashes);
    } else if (message.pocket === "distrust" && typeof message.gateway === "string") {
      this.#distrusted.add(message.gateway);
      for (const [other, { send }] of this.#workers)
        if (other !== worker) send({ pocket: "distrust", gateway: message.gateway });
    } else if (message.pocket === "scrape" && typeof message.id === "number") {
      // Scrapes share one gathering, and the last one's result for a moment after it: a flood of
      // scrapes (the endpoint is open) costs each process a few renders a second, not one each.
      const recent = this.#recent;
      if (recent !== undefined && this.now() - recent.at < SCRAPE_REUSE_MS) {
        this.#workers.get(worker)?.send({ pocket: "scraped", id: message.id, parts: recent.parts });
        return;
      }
      if (this.#gathering !== undefined) {
        this.#gathering.askers.push({ worker, id: message.id });
        return;
      }
      const id = this.#nextScrape++;
      const parts: ScrapedPart[] =
        this.renderOwn === undefined ? [] : [{ process: "primary", text: this.renderOwn() }];
      const scrape: Scrape = {
        id,
        askers: [{ worker, id: message.id }],
        pending: new Set(this.#workers.keys()),
        parts,
        // A worker that does not answer in time is left out of this scrape.
        timer: setTimeout(() => this.#finish(id), SCRAPE_WAIT_MS),
      };
      scrape.timer.unref?.();
      this.#gathering = scrape;
      for (const { send } of this.#workers.values()) send({ pocket: "render", id });
    } else if (message.pocket === "rendered" && typeof message.id === "number") {
      const scrape = this.#gathering?.id === message.id ? this.#gathering : undefined;
      const from = this.#workers.get(worker);
      if (scrape === undefined || from === undefined || !scrape.pending.delete(worker)) return;
      if (typeof message.text === "string") scrape.parts.push({ process: from.name, text: message.text });
      if (scrape.pending.size === 0) this.#finish(message.id);
    }
  }
}

/** How long a scrape waits for each worker's metrics. */
const SCRAPE_WAIT_MS = 2_000;
/** How long a gathered scrape answers the scrapes asked for after it (while no worker came or went). */
export const SCRAPE_REUSE_MS = 250;

interface Scrape {
  readonly id: number;
  /** The workers that asked, each with the id its link waits on. */
  readonly askers: { readonly worker: number; readonly id: number }[];
  readonly pending: Set<number>;
  readonly parts: ScrapedPart[];
  readonly timer: ReturnType<typeof setTimeout>;
}

/**
 * The config each worker runs: the node's, with each backend's concurrency and queue shared out
 * among the workers (each worker has its own pool), so that the engine never sees more relays at
 * once than `maxConcurrency` allows (at least one per worker).
 */
export function workerConfig(config: NodeConfig): NodeConfig {
  const n = config.workers;
  return {
    ...config,
    services: config.services.map((service) => ({
      ...service,
      backends: service.backends.map((b) => ({
        ...b,
        maxConcurrency: Math.max(1, Math.floor(b.maxConcurrency / n)),
        maxQueue: Math.ceil(b.maxQueue / n),
      })),
    })),
  };
}

/**
 * What sharing each backend's `maxConcurrency` out among the workers does that its operator did not
 * ask for: with fewer relays than workers, each worker still keeps one, so the engine may see more
 * at once; with a remainder, the workers together keep fewer than asked.
 */
export function workersWarnings(config: NodeConfig): string[] {
  const n = config.workers;
  if (n === 1) return [];
  return config.services.flatMap((service, i) =>
    service.backends.flatMap((b, j) => {
      const each = Math.max(1, Math.floor(b.maxConcurrency / n));
      if (each * n === b.maxConcurrency) return [];
      return [
        `services.${i}.backends.${j}: maxConcurrency ${b.maxConcurrency} shared out among ${n} workers is ${each} each, ${each * n} at once in all; make it a multiple of workers (${Math.max(1, Math.round(b.maxConcurrency / n)) * n})`,
      ];
    }),
  );
}

/** Why the config cannot run on several workers, or `undefined`. */
export function workersRefusal(config: NodeConfig): string | undefined {
  if (config.workers === 1) return undefined;
  for (const [i, service] of config.services.entries())
    for (const [j, b] of service.backends.entries())
      if (b.kind === "gguf")
        return `workers: ${config.workers} would load services.${i}.backends.${j} (a gguf model, in-process) once per worker; run it with workers: 1, or serve the model with llama.cpp's server (kind: llamacpp) and keep the workers`;
  return undefined;
}

/**
 * The primary of a node that runs `workers` processes: it forks them (each re-runs this process's
 * main script, which calls {@link runNodeWorker} in a worker), hands each its config, and waits
 * until every one listens on the node's port, which they share (Node's cluster: the primary
 * accepts connections and passes each to a worker in turn). It never serves a relay itself: it
 * holds the shared admission table, passes the gateways' candidate lists and caught gateways on to
 * every worker, and replaces a worker that dies. Its address is the node's endpoint for the
 * announce and claim loops, which only the primary runs. Closing it stops every worker (each
 * drains its relays, `shutdownDrainMs`) and waits for them.
 */
export const NodeCluster = Layer.scoped(
  NodeEndpoint,
  Effect.gen(function* () {
    const { config, log } = yield* NodeSettings;
    const membership = yield* Membership;
    // Built first: the database is migrated and the key file in place before any worker opens them.
    yield* NodeDatabase;
    yield* NodeIdentity;
    if (!cluster.isPrimary)
      return yield* new NodeStartError({
        code: "WORKER_START_FAILED",
        reason: "a node worker cannot start workers of its own",
      });
    for (const warning of workersWarnings(config)) log.warn(warning);

    const metrics = yield* Metrics;
    const hub = new ClusterHub(Date.now, () => metrics.registry.render());
    const forWorkers = workerConfig(config);
    const workers = new Map<number, Worker>();
    let stopping = false;
    let started: ((port: number) => void) | undefined;
    let failedStart: ((reason: string) => void) | undefined;
    const listening = new Set<number>();
    /** Per worker number: when its current process started, and its quick exits in a row. */
    const restarts = new Map<number, { startedAt: number; quickExits: number }>();
    membership.onUpdate((gateway, registry, nodesPerSession) =>
      hub.membership(gateway, registry, nodesPerSession),
    );
    // From the first signal on, a worker that exits is not replaced (a service manager may signal
    // the workers themselves before this layer closes).
    const onSignal = () => {
      stopping = true;
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);

    const fork = (index: number) => {
      const worker = cluster.fork({ [WORKER_ENV]: String(index) });
      workers.set(index, worker);
      restarts.set(index, { startedAt: Date.now(), quickExits: restarts.get(index)?.quickExits ?? 0 });
      // A worker that just died fails a send (EPIPE): its exit is handled below, not as a crash here.
      worker.on("error", ignoreSendError);
      const send = (message: ToWorker) => {
        if (worker.isConnected()) worker.send(message, undefined, undefined, ignoreSendError);
      };
      worker.on("message", (raw: unknown) => {
        // A worker asks for its config once its script listens (a message sent before would be lost).
        if (nodeMessage(raw)?.pocket !== "hello") return hub.receive(worker.id, raw);
        send({ pocket: "config", index, config: forWorkers });
        hub.join(worker.id, send, String(index));
      });
      worker.once("listening", (address) => {
        listening.add(index);
        if (listening.size === config.workers) started?.(address.port);
      });
      worker.once("exit", (code, signal) => {
        hub.leave(worker.id);
        if (workers.get(index) === worker) workers.delete(index);
        if (stopping) return;
        if (failedStart !== undefined) {
          failedStart(
            `node worker ${index} exited (${signal ?? `code ${code}`}) before it listened: its log above says why`,
          );
          return;
        }
        const run = restarts.get(index) ?? { startedAt: 0, quickExits: 0 };
        run.quickExits = Date.now() - run.startedAt < RESTART_RESET_MS ? run.quickExits + 1 : 0;
        const delayMs = Math.min(
          RESTART_MAX_DELAY_MS,
          RESTART_DELAY_MS * 2 ** Math.max(0, run.quickExits - 1),
        );
        log.error("a node worker exited; starting another", {
          code: "NODE_WORKER_EXITED",
          worker: index,
          exitCode: code,
          signal,
          restartInMs: delayMs,
        });
        setTimeout(() => {
          if (!stopping) fork(index);
        }, delayMs).unref();
      });
    };

    yield* Effect.addFinalizer(() =>
      Effect.promise(async () => {
        stopping = true;
        process.off("SIGTERM", onSignal);
        process.off("SIGINT", onSignal);
        const exits = [...workers.values()].map(
          (worker) =>
            new Promise<void>((resolve) => {
              if (worker.process.exitCode !== null || worker.process.signalCode !== null) return resolve();
              worker.once("exit", () => resolve());
              worker.process.kill("SIGTERM");
            }),
        );
        // Each worker drains within shutdownDrainMs; one that hangs past it (and a margin) is killed.
        const killer = setTimeout(() => {
          for (const worker of workers.values()) worker.process.kill("SIGKILL");
        }, config.shutdownDrainMs + 5_000);
        await Promise.all(exits);
        clearTimeout(killer);
      }),
    );

    const port = yield* Effect.async<number, NodeStartError>((resume) => {
      started = (p) => {
        started = undefined;
        failedStart = undefined;
        resume(Effect.succeed(p));
      };
      failedStart = (reason) => {
        started = undefined;
        failedStart = undefined;
        resume(Effect.fail(new NodeStartError({ code: "WORKER_START_FAILED", reason })));
      };
      for (let index = 1; index <= config.workers; index++) fork(index);
    });
    const host = config.listen.host.includes(":") ? `[${config.listen.host}]` : config.listen.host;
    const url = `http://${host}:${port}`;
    log.info("node workers listening", { workers: config.workers, url });
    return { url, trpcUrl: `${config.publicUrl ?? url}/trpc` };
  }),
);

/** Whether this process is a node worker forked by a node's primary (see {@link runNodeWorker}). */
export const isNodeWorker = (): boolean => cluster.isWorker && process.env[WORKER_ENV] !== undefined;

/**
 * A node worker's main: takes its config from the primary, serves relays until the primary stops
 * it (SIGTERM, or the primary's channel closes: it died), drains, and exits. SIGINT is left to the
 * primary (Ctrl-C reaches every process of the terminal; the primary stops its workers in order).
 * `layer` builds the worker's node from its config (`nodeWorkerLayer`).
 */
export function runNodeWorker(
  layer: (config: NodeConfig, link: PrimaryLink) => Layer.Layer<never, unknown>,
): void {
  const index = Number(process.env[WORKER_ENV] ?? "0");
  // Node's cluster exits a worker at once when its primary's channel closes unexpectedly; this one
  // drains first (its relays still record their outcome), then exits.
  if (cluster.worker !== undefined)
    (cluster.worker as { exitedAfterDisconnect: boolean }).exitedAfterDisconnect = true;
  const link = new PrimaryLink(index, process as IpcChannel);
  const config = new Promise<NodeConfig>((resolve, reject) => {
    const onConfig = (raw: unknown) => {
      const message = nodeMessage(raw) as ToWorker | undefined;
      if (message?.pocket !== "config") return;
      process.off("message", onConfig);
      const parsed = NodeConfig.safeParse(message.config);
      if (parsed.success) resolve(parsed.data);
      else reject(new Error(`node worker ${index}: the primary's config did not parse`));
    };
    process.on("message", onConfig);
    process.send?.({ pocket: "hello" } satisfies ToPrimary, undefined, undefined, ignoreSendError);
  });
  const program = Effect.flatMap(Effect.tryPromise({ try: () => config, catch: (e) => e }), (c) =>
    Layer.launch(layer(c, link)),
  );
  // SIGTERM (from the primary, or a service manager) drains; a second one changes nothing. Ctrl-C
  // is the primary's to handle, and a primary that died stops the worker as SIGTERM would.
  process.on("SIGINT", () => undefined);
  process.once("disconnect", () => process.kill(process.pid, "SIGTERM"));
  runMain(program, {
    app: `pocket-node worker ${index}`,
    signals: ["SIGTERM"],
    sameSignalMs: Number.POSITIVE_INFINITY,
  });
}

export { WorkerLink };
