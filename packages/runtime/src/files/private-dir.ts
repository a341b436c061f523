import { mkdirSync } from "node:fs";

/**
 * Creates `dir` and any missing parents for their owner only (0700): the apps keep signing keys,
 * databases and locks there, which are no other local user's to list or read. A folder that
 * already exists keeps the mode its operator gave it.
 */
export function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}
