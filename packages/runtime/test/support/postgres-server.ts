import { execFile } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { pidInFile, processRunning } from "../../src/files/data-dir-lock.js";

const run = promisify(execFile);

/** A throwaway PostgreSQL server on a loopback port, owned by one test file. */
export interface TestPostgres {
  /** `postgres://postgres@127.0.0.1:PORT/postgres`. */
  readonly url: string;
  readonly port: number;
  /** Creates a fresh database and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  stop(): Promise<void>;
}

/** Folders Debian (and most Linux packages) put the server binaries in, newest first. */
function candidateBinDirs(): string[] {
  const dirs: string[] = [];
  if (process.env.POCKET_POSTGRES_BIN) dirs.push(process.env.POCKET_POSTGRES_BIN);
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    for (const v of readdirSync(root).sort((a, b) => Number(b) - Number(a))) dirs.push(join(root, v, "bin"));
  }
  for (const p of (process.env.PATH ?? "").split(":")) if (p !== "") dirs.push(p);
  return dirs;
}

/** The folder holding `initdb` and `pg_ctl`, or undefined when PostgreSQL is not installed. */
export function findPostgresBin(): string | undefined {
  return candidateBinDirs().find((d) => existsSync(join(d, "initdb")) && existsSync(join(d, "pg_ctl")));
}

/**
 * Whether PostgreSQL tests can run here. When the binaries are missing they are skipped with a
 * message saying so, unless `POCKET_REQUIRE_POSTGRES=1` (CI sets it): then it is a failure.
 */
export function postgresAvailability(): { readonly available: boolean; readonly reason: string } {
  const bin = findPostgresBin();
  if (bin !== undefined) return { available: true, reason: `PostgreSQL binaries in ${bin}` };
  const reason =
    "PostgreSQL tests skipped: no initdb/pg_ctl found (install Debian's postgresql package, or set POCKET_POSTGRES_BIN)";
  if (process.env.POCKET_REQUIRE_POSTGRES === "1") {
    throw new Error(`POCKET_REQUIRE_POSTGRES=1 but ${reason.replace("PostgreSQL tests skipped: ", "")}`);
  }
  console.warn(reason);
  return { available: false, reason };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** initdb and the server refuse to run as root: then they run as the `postgres` system user. */
function asServerUser(command: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [command, args];
  return ["runuser", ["-u", "postgres", "--", command, ...args]];
}

let sequence = 0;

/**
 * Starts a throwaway PostgreSQL server for tests: `initdb` into a fresh temp folder (trust
 * authentication, no fsync: nothing in it outlives the test) and `pg_ctl start` on a free
 * loopback port, with its socket in that folder. Needs no root and no existing cluster. `stop`
 * shuts it down and removes the folder.
 */
export async function startTestPostgres(): Promise<TestPostgres> {
  const bin = findPostgresBin();
  if (bin === undefined) throw new Error("PostgreSQL binaries (initdb, pg_ctl) not found");
  await stopOrphanedServers(bin);
  const dir = mkdtempSync(join(tmpdir(), SERVER_FOLDER_PREFIX));
  // Whose server it is: a run killed before its `stop` (a test runner aborted, a machine's
  // timeout) leaves the server running, and the next start stops it (see `stopOrphanedServers`).
  writeFileSync(join(dir, OWNER_FILE), String(process.pid));
  if (process.getuid?.() === 0) {
    const { uid, gid } = await lookupUser("postgres");
    chownSync(dir, uid, gid);
  }
  const data = join(dir, "data");
  const port = await freePort();
  try {
    await run(
      ...asServerUser(join(bin, "initdb"), [
        "-D",
        data,
        "-U",
        "postgres",
        "-A",
        "trust",
        "--no-sync",
        "-E",
        "UTF8",
        "--locale=C",
      ]),
    );
    const options = [
      `-p ${port}`,
      `-k ${dir}`,
      "-c listen_addresses=127.0.0.1",
      "-c fsync=off",
      "-c synchronous_commit=off",
      "-c full_page_writes=off",
      "-c max_connections=200",
    ].join(" ");
    await run(
      ...asServerUser(join(bin, "pg_ctl"), [
        "-D",
        data,
        "-o",
        options,
        "-l",
        join(dir, "log"),
        "-w",
        "start",
      ]),
      { timeout: 120_000 },
    );
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const base = `postgres://postgres@127.0.0.1:${port}`;
  let stopped = false;
  return {
    url: `${base}/postgres`,
    port,
    createDatabase: (name?: string) => createTestDatabase(`${base}/postgres`, name),
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await run(...asServerUser(join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]), {
          timeout: 60_000,
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** The temp folders of the servers {@link startTestPostgres} starts, and the file naming their owner. */
const SERVER_FOLDER_PREFIX = "pocket-pg-";
const OWNER_FILE = "owner.pid";

/**
 * Stops the test servers whose owner process is gone (killed before its `stop`) and removes their
 * folders, so aborted runs do not leave servers running on the machine. Only folders that name
 * their owner are looked at; one whose owner still runs (or whose id was taken by another process)
 * is left alone. Two runs doing this at once only stop a server twice, which fails harmlessly.
 */
export async function stopOrphanedServers(bin: string): Promise<readonly string[]> {
  const stopped: string[] = [];
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(SERVER_FOLDER_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    const owner = pidInFile(join(dir, OWNER_FILE));
    if (owner === undefined || processRunning(owner)) continue;
    try {
      await run(
        ...asServerUser(join(bin, "pg_ctl"), ["-D", join(dir, "data"), "-m", "immediate", "-w", "stop"]),
        {
          timeout: 60_000,
        },
      );
    } catch {
      // Not running any more (or stopped by another run meanwhile): the folder goes all the same.
    }
    rmSync(dir, { recursive: true, force: true });
    stopped.push(dir);
  }
  return stopped;
}

/**
 * Creates a fresh database on a test server (`serverUrl` names any database of it) and returns
 * the new database's URL. Each test (or test file) gets its own, so nothing leaks between them.
 */
export async function createTestDatabase(serverUrl: string, name?: string): Promise<string> {
  const database = (name ?? `test_${process.pid}_${Date.now().toString(36)}_${++sequence}`).replaceAll(
    '"',
    "",
  );
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${database}"`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function lookupUser(name: string): Promise<{ uid: number; gid: number }> {
  if (userInfo().username === name) return { uid: userInfo().uid, gid: userInfo().gid };
  const { stdout } = await run("id", ["-u", name]);
  const { stdout: group } = await run("id", ["-g", name]);
  return { uid: Number(stdout.trim()), gid: Number(group.trim()) };
}
