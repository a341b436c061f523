import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The committed migrations are the schema: generating migrations from the schema files into a
 * copy of the committed ones must write nothing new, for SQLite and for PostgreSQL. A column added
 * to a schema without its migration (in either dialect) fails here, not on an operator's database.
 */
const app = resolve(import.meta.dirname, "..");
const drizzleKit = join(app, "node_modules", ".bin", "drizzle-kit");

function generatedFiles(dialect: "sqlite" | "postgresql", schema: readonly string[], committed: string) {
  const dir = mkdtempSync(join(tmpdir(), `pocket-migrations-${dialect}-`));
  const out = join(dir, "out");
  cpSync(join(app, committed), out, { recursive: true, filter: (src) => !src.endsWith(`${committed}/pg`) });
  const before = readdirSync(out).filter((f) => f.endsWith(".sql"));
  const config = join(dir, "drizzle.config.json");
  // drizzle-kit reads `out` relative to its working directory.
  writeFileSync(config, JSON.stringify({ dialect, schema: [...schema], out: relative(app, out) }));
  const run = spawnSync(drizzleKit, ["generate", "--config", config], { cwd: app, encoding: "utf8" });
  const printed = `${run.stdout}${run.stderr}`;
  const after = readdirSync(out).filter((f) => f.endsWith(".sql"));
  return { added: after.filter((f) => !before.includes(f)), printed };
}

describe("committed migrations", () => {
  it("match the SQLite schema", () => {
    const { added, printed } = generatedFiles(
      "sqlite",
      ["src/db/schema.ts", "src/portal/portal-schema.ts"],
      "drizzle",
    );
    expect(added, printed).toEqual([]);
    expect(printed).toContain("No schema changes");
  }, 120_000);

  it("match the PostgreSQL schema", () => {
    const { added, printed } = generatedFiles("postgresql", ["src/db/schema-pg.ts"], "drizzle/pg");
    expect(added, printed).toEqual([]);
    expect(printed).toContain("No schema changes");
  }, 120_000);
});
