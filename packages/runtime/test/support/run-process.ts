import { spawn } from "node:child_process";

/** How a process run by {@link runProcess} ended, as `spawnSync` reports it. */
export interface ProcessRun {
  /** The exit code, or `null` when a signal (the timeout's kill, say) ended it. */
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a command to its end, as `spawnSync` does, without holding the test worker's event loop:
 * vitest's reports to its main process ride on that loop, and a file of tests each blocked for
 * seconds in `spawnSync` (an app's CLI, loaded on a busy machine) left them unanswered past
 * vitest's 60-second limit ("Timeout calling onTaskUpdate"). Past `timeout` ms the process is killed.
 */
export function runProcess(
  command: string,
  args: readonly string[],
  options: { readonly cwd: string; readonly env?: NodeJS.ProcessEnv; readonly timeout?: number },
): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const timer =
      options.timeout === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), options.timeout);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
