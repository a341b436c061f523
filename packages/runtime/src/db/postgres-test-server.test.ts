import { spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import {
  findPostgresBin,
  postgresAvailability,
  startTestPostgres,
  stopOrphanedServers,
  type TestPostgres,
} from "../../test/support/postgres-server.js";

/** The id of a process that has exited. */
async function exitedPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""]);
  const pid = child.pid as number;
  await new Promise((resolve) => child.once("exit", resolve));
  return pid;
}

/** Whether a server answers at `url`. */
async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The folder a test server keeps its data, socket and owner file in. */
const folderOf = async (server: TestPostgres): Promise<string> => {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ data_directory: string }>("show data_directory");
    return dirname(rows[0]!.data_directory);
  } finally {
    await client.end();
  }
};

describe.skipIf(!postgresAvailability().available)("the tests' throwaway PostgreSQL servers", () => {
  const servers: TestPostgres[] = [];
  afterAll(async () => {
    // The orphan's server is stopped already when the test passed: its `stop` then fails.
    for (const server of servers) await server.stop().catch(() => undefined);
  });

  it("are stopped by a later start once the run that started them is gone, never while it runs", async () => {
    const orphan = await startTestPostgres();
    const live = await startTestPostgres();
    servers.push(orphan, live);
    const orphanDir = await folderOf(orphan);
    const liveDir = await folderOf(live);
    // As a run killed before its `stop` leaves it: the owner is a process that has exited.
    writeFileSync(join(orphanDir, "owner.pid"), String(await exitedPid()));

    const stopped = await stopOrphanedServers(findPostgresBin()!);
    expect(stopped).toContain(orphanDir);
    expect(stopped).not.toContain(liveDir);
    expect(existsSync(orphanDir)).toBe(false);
    expect(await answers(orphan.url)).toBe(false);
    // This run's own server is left alone.
    expect(existsSync(liveDir)).toBe(true);
    expect(await answers(live.url)).toBe(true);
  }, 120_000);
});
