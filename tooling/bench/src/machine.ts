/** What the numbers were measured on, stored with them in `latest.json`. */
import os from "node:os";

export function describeMachine(mode: string, notes: readonly string[]) {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    mode,
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memoryGb: Math.round(os.totalmem() / 1024 ** 3),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    notes,
  };
}
