// Generates the API reference in docs/api from the doc comments (typedoc + typedoc-plugin-markdown,
// configured in typedoc.json). Run it with `pnpm --filter @pocket-ai/protocol api-docs` after
// changing an exported symbol or its comment (`pnpm docs` is pnpm's own command, not this one).
import { execFileSync } from "node:child_process";
import { join } from "node:path";

execFileSync("typedoc", [], { stdio: "inherit", cwd: join(import.meta.dirname, "..") });
