import { statSync } from "node:fs";
import { createRequire } from "node:module";
import { basename } from "node:path";
import { Worker } from "node:worker_threads";
import type Database from "better-sqlite3";
import type { MetricsRegistry } from "../metrics/registry.js";

/**
 * Frames in the WAL at which the app's own connection still checkpoints while the worker runs: a
 * safety valve for a worker that falls behind, far above what it lets the WAL reach.
 */
export const SAFETY_AUTOCHECKPOINT = 10_000;
/** The code of the process warning emitted when the worker fails. */
export const CHECKPOINT_WORKER_FAILED = "POCKET_CHECKPOINT_WORKER_FAILED";
/** SQLite's default, used until the worker starts and again if it fails. */
const DEFAULT_AUTOCHECKPOINT = 1_000;
/**
 * The code of the process warning emitted when the database's WAL file was removed or replaced
 * while the process had it open (see {@link WalCheckpointer.checkWalFile}).
 */
export const WAL_FILE_REPLACED = "POCKET_WAL_FILE_REPLACED";

/**
 * What became of a WAL file removed under an open database: `recreated` (every commit copied into
 * the database file, and a new WAL file made), or `checkpointing` (copied, but another connection
 * kept the old WAL, so every commit from now on is copied into the database file as it is made).
 */
export type WalRepair = "recreated" | "checkpointing";

export interface CheckpointerOptions {
  /** How often the app's thread looks at the WAL's size to decide whether to start the worker. */
  readonly pollMs: number;
  /** The WAL size, in bytes, at which the worker starts (short-lived databases never start one). */
  readonly startAtBytes: number;
  /** How often the worker checkpoints once started. */
  readonly everyMs: number;
  /**
   * PASSIVE checkpoints one run of the worker may take in a row. The first copies what
   * accumulated; each next one only what the app committed meanwhile, until one begins with nothing
   * new: the WAL was then wholly in the database file, and the app's next transaction starts the
   * WAL over from its beginning instead of growing it (SQLite restarts a WAL only from that state).
   */
  readonly catchUpRounds: number;
  /** The better-sqlite3 module the worker loads (the app's own, resolved from here). */
  readonly module: string;
}

const defaults = (): CheckpointerOptions => ({
  pollMs: 1_000,
  startAtBytes: 1 << 20,
  everyMs: 100,
  catchUpRounds: 8,
  module: createRequire(import.meta.url).resolve("better-sqlite3"),
});

/**
 * One checkpoint the worker ran: frames in the WAL when its last round began, how many of them are
 * in the database file, and whether the WAL was then wholly copied (no frame came in meanwhile).
 */
export interface CheckpointRun {
  readonly log: number;
  readonly checkpointed: number;
  readonly whole: boolean;
}

/**
 * The worker, as source (bundles carry no separate worker file): its own connection to the file,
 * a PASSIVE checkpoint every `everyMs` (it waits for no reader or writer, so the app's writes go on
 * meanwhile) and one on request (`{ now: id }`), each result posted back, and a clean close on
 * "stop".
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.module);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma("synchronous = NORMAL");
const run = (id) => {
  let r;
  let seen = -1;
  let whole = false;
  for (let round = 0; round < workerData.catchUp && !whole; round++) {
    [r] = db.pragma("wal_checkpoint(PASSIVE)");
    // Another checkpoint (the app's thread's) held the file: nothing copied, nothing known.
    if (r.busy !== 0 || r.log < 0) break;
    // A round copies the frames that were in the WAL when it began; the WAL was wholly copied
    // only if the next round began with no new frame.
    whole = r.log === seen && r.checkpointed === r.log;
    seen = r.log;
  }
  parentPort.postMessage({ id, log: r.log, checkpointed: r.checkpointed, whole });
};
const timer = setInterval(run, workerData.everyMs);
parentPort.on("message", (m) => {
  if (m !== "stop") return run(m.now);
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Moves a SQLite file's WAL checkpoints off the app's thread. With its default settings SQLite
 * checkpoints inside the COMMIT that takes the WAL past 1,000 frames: it copies the pages into the
 * database file and fsyncs both, blocking the event loop for milliseconds (8–15 ms measured here)
 * every few hundred transactions, which every request in flight then waits for. Once the WAL
 * passes `startAtBytes`, a worker thread with its own connection checkpoints it instead, and the
 * app's connection keeps a checkpoint of its own only past {@link SAFETY_AUTOCHECKPOINT} frames.
 * Durability is unchanged: a transaction is durable once its COMMIT is in the WAL, whoever copies
 * it later. If the worker fails, the app's connection checkpoints as before.
 */
export class WalCheckpointer {
  /** The checkpointers of this process's open databases (see {@link watchCheckpoints}). */
  static readonly #live = new Set<WalCheckpointer>();
  readonly #options: CheckpointerOptions;
  #poll: NodeJS.Timeout | undefined;
  #worker: Worker | undefined;
  #exited: Promise<void> | undefined;
  #runs = 0;
  /** Reports after which this thread copied the frames the worker had not. */
  #finished = 0;
  #failure: string | undefined;
  #last: CheckpointRun | undefined;
  /** The WAL file's inode as last seen at its path; a change means it was removed or replaced. */
  #walInode: number | undefined;
  #walRepair: WalRepair | undefined;
  #walWatch: NodeJS.Timeout | undefined;
  readonly #waiting: ((run: CheckpointRun) => void)[] = [];
  readonly #asked = new Map<number, (run: CheckpointRun) => void>();
  #nextId = 1;

  constructor(
    private readonly file: string,
    private readonly sqlite: Database.Database,
    options: Partial<CheckpointerOptions> = {},
  ) {
    this.#options = { ...defaults(), ...options };
    this.#poll = setInterval(() => this.#check(), this.#options.pollMs);
    this.#poll.unref();
    this.#walInode = this.#walFileInode();
    // Apart from the poll, which stops once the worker starts: a removed WAL matters whoever checkpoints.
    this.#walWatch = setInterval(() => this.checkWalFile(), this.#options.pollMs);
    this.#walWatch.unref();
    WalCheckpointer.#live.add(this);
  }

  #walFileInode(): number | undefined {
    try {
      return statSync(`${this.file}-wal`).ino;
    } catch {
      return undefined;
    }
  }

  /**
   * Checks that the WAL this connection writes is still the file at `<file>-wal`. Once that file is
   * removed (a clean-up script, an operator's `rm`), the connection goes on writing to the removed
   * file, which only this process still holds: a `kill -9` or power loss then drops every
   * transaction committed since the last checkpoint (the ledger's rows, charges and claims) and
   * the file may open empty. So, once it is seen gone, this connection copies the whole WAL into
   * the database file at once and starts a new WAL file; when another connection holds the old
   * one (then no new file can be made), every commit from then on is copied into the database
   * file as it is made (slower, never lost) until the process restarts. Said once, as a process
   * warning ({@link WAL_FILE_REPLACED}). Runs every `pollMs`; returns the repair made, if any.
   */
  checkWalFile(): WalRepair | undefined {
    if (this.#walRepair === "checkpointing" || !this.sqlite.open || this.sqlite.inTransaction)
      return this.#walRepair;
    const inode = this.#walFileInode();
    if (this.#walInode === undefined || inode === this.#walInode) {
      this.#walInode ??= inode;
      return this.#walRepair;
    }
    this.sqlite.pragma("wal_checkpoint(TRUNCATE)");
    const busyTimeout = this.sqlite.pragma("busy_timeout", { simple: true }) as number;
    let repair: WalRepair;
    try {
      // Leaving WAL mode needs the file alone (no other connection): then re-entering it makes a
      // new WAL file at the path. Not waited for: it is tried once.
      this.sqlite.pragma("busy_timeout = 0");
      this.sqlite.pragma("journal_mode = DELETE");
      this.sqlite.pragma("journal_mode = WAL");
      repair = "recreated";
    } catch {
      this.sqlite.pragma("wal_autocheckpoint = 1");
      repair = "checkpointing";
    } finally {
      this.sqlite.pragma(`busy_timeout = ${busyTimeout}`);
    }
    this.#walRepair = repair;
    this.#walInode = this.#walFileInode();
    process.emitWarning(
      repair === "recreated"
        ? `the WAL file of ${this.database} was removed while the database was open: its transactions were copied into the database file and a new WAL file was made; find what removes files in the data folder`
        : `the WAL file of ${this.database} was removed while the database was open: its transactions were copied into the database file, and each commit is copied there too until the process restarts (slower); restart it, and find what removes files in the data folder`,
      { code: WAL_FILE_REPLACED },
    );
    return repair;
  }

  /** The checkpointers of the databases this process has open now. */
  static live(): readonly WalCheckpointer[] {
    return [...WalCheckpointer.#live];
  }

  /** The database file's name, without its folder (what metrics show). */
  get database(): string {
    return basename(this.file);
  }

  /** Whether the worker runs, how many checkpoints it reported, the last one, and why it failed. */
  stats(): {
    readonly running: boolean;
    readonly runs: number;
    readonly finished: number;
    readonly last?: CheckpointRun;
    readonly failure?: string;
    readonly walRepair?: WalRepair;
  } {
    return {
      ...(this.#walRepair === undefined ? {} : { walRepair: this.#walRepair }),
      running: this.#worker !== undefined,
      runs: this.#runs,
      finished: this.#finished,
      ...(this.#last === undefined ? {} : { last: this.#last }),
      ...(this.#failure === undefined ? {} : { failure: this.#failure }),
    };
  }

  /** The worker's next report, from its timer or a request (tests wait on state, not on time). */
  next(): Promise<CheckpointRun> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Asks the running worker for a checkpoint now; `undefined` when no worker runs. */
  checkpointNow(): Promise<CheckpointRun> | undefined {
    const worker = this.#worker;
    if (worker === undefined) return undefined;
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#asked.set(id, resolve);
      worker.postMessage({ now: id });
    });
  }

  #check(): void {
    if (this.#worker !== undefined || this.#failure !== undefined) return;
    let size: number;
    try {
      size = statSync(`${this.file}-wal`).size;
    } catch {
      return; // no WAL yet
    }
    if (size >= this.#options.startAtBytes) this.#start();
  }

  #start(): void {
    clearInterval(this.#poll);
    // Every commit is copied at once already (see `checkWalFile`): nothing for a worker to do.
    if (this.#walRepair === "checkpointing") return;
    this.#poll = undefined;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        file: this.file,
        module: this.#options.module,
        everyMs: this.#options.everyMs,
        catchUp: this.#options.catchUpRounds,
      },
    });
    worker.unref();
    this.#worker = worker;
    this.#exited = new Promise((resolve) => worker.once("exit", () => resolve()));
    this.sqlite.pragma(`wal_autocheckpoint = ${SAFETY_AUTOCHECKPOINT}`);
    worker.on("message", (message: CheckpointRun & { readonly id?: number }) => {
      const run = { log: message.log, checkpointed: message.checkpointed, whole: message.whole };
      // Frames committed while the worker copied: this thread copies them (a few, well under a
      // millisecond) between transactions, so the next transaction starts the WAL over. Under a
      // steady stream of commits the worker alone rarely catches the WAL whole.
      if (!run.whole && this.sqlite.open && !this.sqlite.inTransaction) {
        this.sqlite.pragma("wal_checkpoint(PASSIVE)");
        this.#finished++;
      }
      this.#runs++;
      this.#last = run;
      if (message.id !== undefined) {
        this.#asked.get(message.id)?.(run);
        this.#asked.delete(message.id);
      }
      for (const resolve of this.#waiting.splice(0)) resolve(run);
    });
    worker.once("error", (error) => {
      // Back to checkpoints on the app's connection; the worker is not started again.
      this.#failure = error instanceof Error ? error.message : String(error);
      this.#worker = undefined;
      if (this.sqlite.open && this.#walRepair !== "checkpointing")
        this.sqlite.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT}`);
      // The operator's own log (stderr); nothing about it leaves the process.
      process.emitWarning(
        `SQLite checkpoints are back on the app's thread: the checkpoint worker stopped (${this.#failure})`,
        { code: CHECKPOINT_WORKER_FAILED },
      );
    });
  }

  /** Stops the poll and the worker (which closes its connection); resolves once it has exited. */
  stop(): Promise<void> {
    WalCheckpointer.#live.delete(this);
    clearInterval(this.#walWatch);
    this.#walWatch = undefined;
    clearInterval(this.#poll);
    this.#poll = undefined;
    const worker = this.#worker;
    this.#worker = undefined;
    if (worker === undefined) return this.#exited ?? Promise.resolve();
    // Held from here until it exits: an app whose work is done (a CLI's last step, a server's
    // shutdown) must not end mid-close, before the last checkpoint and whatever follows the close.
    worker.ref();
    worker.postMessage("stop");
    return this.#exited ?? Promise.resolve();
  }

  /** Whether a worker was ever started (then closing waits for it). */
  get started(): boolean {
    return this.#exited !== undefined;
  }
}

/**
 * Adds to `registry`, per open SQLite database of this process (by file name), whether its
 * checkpoints run on the worker thread (`pocket_sqlite_checkpoint_worker` 1) or on the app's thread
 * (0: the WAL is still small, or the worker failed), and whether the worker failed
 * (`pocket_sqlite_checkpoint_worker_failed` 1: checkpoints block the event loop again; the process
 * also logged a `POCKET_CHECKPOINT_WORKER_FAILED` warning saying why). Read at each scrape; a closed
 * database keeps its last values.
 */
export function watchCheckpoints(registry: MetricsRegistry): void {
  const running = registry.gauge(
    "pocket_sqlite_checkpoint_worker",
    "1 when a SQLite database's WAL checkpoints run on a worker thread, 0 on the app's thread",
  );
  const failed = registry.gauge(
    "pocket_sqlite_checkpoint_worker_failed",
    "1 when a SQLite database's checkpoint worker stopped and checkpoints went back to the app's thread",
  );
  registry.beforeRender(() => {
    // Databases of one file name (several nodes in one process, as the localnet runs them) share a
    // series: running only if every one's worker runs, failed if any one's failed.
    const byName = new Map<string, { running: boolean; failed: boolean }>();
    for (const c of WalCheckpointer.live()) {
      const stats = c.stats();
      const seen = byName.get(c.database) ?? { running: true, failed: false };
      byName.set(c.database, {
        running: seen.running && stats.running,
        failed: seen.failed || stats.failure !== undefined,
      });
    }
    // Rebuilt at each scrape: a database closed since the last one has no series any more.
    running.clear();
    failed.clear();
    for (const [database, state] of byName) {
      running.set({ database }, state.running ? 1 : 0);
      failed.set({ database }, state.failed ? 1 : 0);
    }
  });
}
