import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A migrations folder with one migration: table `t (id, v)`. */
export function migrations(): string {
  const dir = mkdtempSync(join(tmpdir(), "pocket-mig-"));
  mkdirSync(join(dir, "meta"));
  writeFileSync(join(dir, "0000_init.sql"), "CREATE TABLE t (id integer primary key, v text);");
  writeFileSync(
    join(dir, "meta", "_journal.json"),
    JSON.stringify({
      version: "7",
      dialect: "sqlite",
      entries: [{ idx: 0, version: "6", when: 1, tag: "0000_init", breakpoints: true }],
    }),
  );
  return dir;
}
