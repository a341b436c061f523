import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "@effect/vitest";
import { Effect } from "effect";
import { afterAll, expect } from "vitest";
import { Database } from "./database.js";
import { applications } from "./schema.js";

const dir = mkdtempSync(join(tmpdir(), "pocket-gateway-db-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const withDatabase = <A>(file: string, f: (db: Database["Type"]) => A) =>
  Effect.scoped(Effect.map(Database, f).pipe(Effect.provide(Database.layer({ file }))));

it.effect("opens in WAL mode with the committed migrations applied", () =>
  withDatabase(join(dir, "a.sqlite"), ({ sqlite }) => {
    expect(sqlite.pragma("journal_mode", { simple: true })).toBe("wal");
    const tables = sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
      name: string;
    }[];
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(["applications", "api_keys"]));
  }),
);

it.effect("keeps rows across a restart", () =>
  Effect.gen(function* () {
    const file = join(dir, "b.sqlite");
    const row = { id: "app_1", name: "n", address: "pokt1a", status: "active" as const, createdAt: 1 };
    yield* withDatabase(file, ({ db }) => db.insert(applications).values(row).run());
    const names = yield* withDatabase(file, ({ db }) =>
      db
        .select()
        .from(applications)
        .all()
        .map((a) => a.name),
    );
    expect(names).toEqual(["n"]);
  }),
);

it.effect("refuses a negative reservation at the storage level", () =>
  withDatabase(join(dir, "c.sqlite"), ({ sqlite }) => {
    sqlite
      .prepare(
        "INSERT INTO applications (id, name, address, status, created_at) VALUES ('a', 'n', 'p', 'active', 1)",
      )
      .run();
    const insertKey = sqlite.prepare(
      "INSERT INTO api_keys (id, application_id, name, prefix, hash, status, created_at, reserved_micro_usd) VALUES ('k', 'a', 'n', 'p', 'h', 'active', 1, ?)",
    );
    expect(() => insertKey.run(-1)).toThrow(/CHECK constraint/);
  }),
);
