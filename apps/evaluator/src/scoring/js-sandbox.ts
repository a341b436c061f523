import { Worker } from "node:worker_threads";

/** Limits for one untrusted program: CPU time inside the VM, wall time of the worker, its heap. */
export interface SandboxLimits {
  /** The VM's own timeout for the synchronous part and the microtasks it queues. */
  readonly cpuMs: number;
  /** The worker is terminated after this long whatever it is doing (a promise loop, a stuck GC). */
  readonly wallMs: number;
  /** Old-generation heap cap of the worker; exceeding it kills the worker, not the evaluator. */
  readonly heapMb: number;
}

export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = { cpuMs: 250, wallMs: 3_000, heapMb: 64 };

/**
 * The worker's body (plain JavaScript, evaluated by `new Worker(…, { eval: true })`): for each
 * message, runs the source in a fresh V8 context with no globals beyond the language's own, drains
 * the microtasks the program queued inside the same timeout (`microtaskMode: "afterEvaluate"`: the
 * context has its own queue, so nothing it left behind runs later), and answers whether the result
 * is exactly `true`.
 */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { runInNewContext } = require("node:vm");
parentPort.on("message", ({ id, source, cpuMs }) => {
  let passed = false;
  try {
    passed = runInNewContext(source, Object.create(null), { timeout: cpuMs, microtaskMode: "afterEvaluate" }) === true;
  } catch {
    passed = false;
  }
  parentPort.postMessage({ id, passed });
});
`;

interface Job {
  readonly source: string;
  readonly limits: SandboxLimits;
  readonly resolve: (passed: boolean) => void;
}

/**
 * One worker thread runs the programs one at a time (starting a thread per program costs more than
 * the program); a program that outlives its wall limit, or a worker that dies (heap cap, crash),
 * fails that program and the next one gets a fresh worker.
 */
class Sandbox {
  private worker: Worker | undefined;
  private heapMb = 0;
  private queue: Job[] = [];
  private busy = false;
  private nextId = 0;

  run(job: Job): void {
    this.queue.push(job);
    this.pump();
  }

  private spawn(heapMb: number): Worker {
    if (this.worker !== undefined && this.heapMb === heapMb) return this.worker;
    void this.worker?.terminate();
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      resourceLimits: {
        maxOldGenerationSizeMb: heapMb,
        maxYoungGenerationSizeMb: Math.max(4, Math.floor(heapMb / 4)),
        codeRangeSizeMb: 16,
        stackSizeMb: 4,
      },
      env: {},
      stdout: true,
      stderr: true,
    });
    // An idle sandbox never keeps the process alive.
    worker.unref();
    this.worker = worker;
    this.heapMb = heapMb;
    return worker;
  }

  private discard(worker: Worker): void {
    if (this.worker === worker) this.worker = undefined;
    void worker.terminate();
  }

  private pump(): void {
    if (this.busy) return;
    const job = this.queue.shift();
    if (job === undefined) return;
    this.busy = true;
    const worker = this.spawn(job.limits.heapMb);
    const id = this.nextId++;
    let settled = false;
    const finish = (passed: boolean, healthy: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      worker.off("message", onMessage);
      worker.off("error", onFailure);
      worker.off("exit", onFailure);
      if (!healthy) this.discard(worker);
      this.busy = false;
      job.resolve(passed);
      this.pump();
    };
    const onMessage = (message: { id: number; passed: unknown }) => {
      if (message.id === id) finish(message.passed === true, true);
    };
    const onFailure = () => finish(false, false);
    const timer = setTimeout(() => finish(false, false), job.limits.wallMs);
    worker.on("message", onMessage);
    worker.once("error", onFailure);
    worker.once("exit", onFailure);
    worker.postMessage({ id, source: job.source, cpuMs: job.limits.cpuMs });
  }
}

const sandbox = new Sandbox();

/**
 * Runs `program` and then the `tests` expression in the sandbox's worker thread (own heap limit,
 * fresh context per program) and answers whether the expression evaluated to `true`. The
 * evaluator never waits longer than `wallMs` after the program starts: a program that loops in
 * promise jobs, allocates without end or never settles has its worker terminated and fails. Every
 * outcome other than a clean `true` is a failure, never an exception.
 */
export function runUnitTests(
  program: string,
  tests: string,
  limits: SandboxLimits = DEFAULT_SANDBOX_LIMITS,
): Promise<boolean> {
  return new Promise((resolve) =>
    sandbox.run({ source: `"use strict";\n${program}\n;(${tests})`, limits, resolve }),
  );
}
