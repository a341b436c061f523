// Generates the API reference in docs/api from the doc comments (typedoc + typedoc-plugin-markdown,
// configured in typedoc.json), then formats it with the repository's Biome settings so that
// `biome check .` passes on the generated files. Biome's formatting of TypeScript blocks inside
// Markdown can take a second pass to settle, so it runs until nothing changes (at most three).
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const out = join(import.meta.dirname, "..", "..", "..", "docs", "api");
const run = (command: string, args: string[]) =>
  execFileSync(command, args, { stdio: "inherit", cwd: join(import.meta.dirname, "..") });

const snapshot = () =>
  readdirSync(out)
    .sort()
    .map((file) => readFileSync(join(out, file), "utf8"))
    .join("\0");

run("typedoc", []);
for (let pass = 0; pass < 3; pass++) {
  const before = snapshot();
  run("biome", ["format", "--write", out]);
  if (snapshot() === before) break;
}
