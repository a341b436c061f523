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
 * The worker's body (plain JavaScript, evaluated by `new Worker(…, { eval: true })`): runs the
 * source in a fresh V8 context with no globals beyond the language's own, drains the microtasks the
 * program queued inside the same timeout (`microtaskMode: "afterEvaluate"`), and posts whether the
 * result is exactly `true`.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { runInNewContext } = require("node:vm");
let passed = false;
try {
  passed = runInNewContext(workerData.source, Object.create(null), {
    timeout: workerData.cpuMs,
    microtaskMode: "afterEvaluate",
  }) === true;
} catch {
  passed = false;
}
parentPort.postMessage(passed);
`;

/**
 * Runs `program` and then the `tests` expression in a worker thread with its own heap limit, and
 * answers whether the expression evaluated to `true`. The evaluator never waits longer than
 * `wallMs`: a program that loops in promise jobs, allocates without end or never settles is
 * terminated and fails. Every outcome other than a clean `true` is a failure, never an exception.
 */
export function runUnitTests(
  program: string,
  tests: string,
  limits: SandboxLimits = DEFAULT_SANDBOX_LIMITS,
): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { source: `"use strict";\n${program}\n;(${tests})`, cpuMs: limits.cpuMs },
      resourceLimits: {
        maxOldGenerationSizeMb: limits.heapMb,
        maxYoungGenerationSizeMb: Math.max(4, Math.floor(limits.heapMb / 4)),
        codeRangeSizeMb: 16,
        stackSizeMb: 4,
      },
      env: {},
      stdout: true,
      stderr: true,
    });
    const finish = (passed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(passed);
      void worker.terminate();
    };
    const timer = setTimeout(() => finish(false), limits.wallMs);
    worker.once("message", (passed: unknown) => finish(passed === true));
    worker.once("error", () => finish(false));
    worker.once("exit", () => finish(false));
  });
}
