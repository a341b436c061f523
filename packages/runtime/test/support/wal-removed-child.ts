/**
 * A process with a SQLite file open (through `openSqlite`) whose WAL file is removed under it, for
 * wal-removed.test.ts: it commits 50 rows, removes the WAL file, commits 50 more, waits until its
 * checkpointer has seen the removal (a code without that check never sees it: it gives up after
 * 2,000 of its polls and says `ready undefined`), commits 50 more and prints `ready <repair>`; the test then
 * kills it (SIGKILL). Arguments: the database file, and `shared` to keep a second connection
 * open on the file (as another process or worker would).
 */
import { rmSync } from "node:fs";
import Database from "better-sqlite3";
import { Effect, Scope } from "effect";
import { openSqlite } from "../../src/db/sqlite.js";
import { migrations } from "../../src/db/test-migrations.js";

const [file, mode] = process.argv.slice(2) as [string, string | undefined];
// Never closed: the process is killed with the file open.
const scope = Effect.runSync(Scope.make());
const { sqlite, checkpointer } = await Effect.runPromise(
  Scope.extend(
    openSqlite({ file, schema: {}, migrationsFolder: migrations(), checkpoint: { pollMs: 5 } }),
    scope,
  ),
);
const other = mode === "shared" ? new Database(file) : undefined;
sqlite.exec("create table rows (n integer not null)");
const insert = sqlite.prepare("insert into rows (n) values (?)");
const commit = (from: number) => {
  for (let n = from; n < from + 50; n++) insert.run(n);
};
commit(0);
other?.prepare("select count(*) from rows").get();
rmSync(`${file}-wal`);
commit(50);
const repairOf = () => checkpointer?.stats().walRepair;
for (let polls = 0; polls < 2_000 && repairOf() === undefined; polls++)
  await new Promise((r) => setTimeout(r, 5));
commit(100);
process.stdout.write(`ready ${repairOf()}\n`);
await new Promise(() => {});
