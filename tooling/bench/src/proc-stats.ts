/**
 * Per-process CPU time and memory, read from Linux's `/proc`: `stat` fields 14 and 15 (user and
 * system time in clock ticks), `status` VmRSS (now) and VmHWM (peak, which writing 5 to
 * `clear_refs` resets, so each phase reports its own peak).
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

const ticksPerSecond = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User plus system CPU seconds the process has used so far (all its threads). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name may hold spaces and parentheses: fields are counted after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/**
 * CPU seconds of a process and every process it started that still runs (a node's workers): its
 * own, then each child's, read from `/proc/<pid>/task/<pid>/children`.
 */
export function treeCpuSeconds(pid: number): number {
  let total = cpuSeconds(pid);
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    // A kernel without the children file: the process alone.
  }
  for (const child of children) {
    try {
      total += treeCpuSeconds(child);
    } catch {
      // The child exited between the listing and the read.
    }
  }
  return total;
}

function statusKb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${field}:`));
  return Number(line?.split(/\s+/)[1] ?? 0);
}

export const rssMb = (pid: number): number => statusKb(pid, "VmRSS") / 1024;
export const peakRssMb = (pid: number): number => statusKb(pid, "VmHWM") / 1024;

/** Resets the peak RSS so the next reading is this phase's peak; false where the kernel refuses. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** CPU seconds used between two calls, per reader (a process, or several: see `cpuReader` in systems.ts). */
export function cpuMeter(readers: readonly (() => number)[]) {
  const start = readers.map((read) => read());
  return () => readers.map((read, i) => read() - (start[i] ?? 0));
}
