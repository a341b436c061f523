import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect, Layer } from "effect";
import { Database } from "../../src/db/database.js";

/** For tests: a real SQLite file in a fresh temp folder, removed when the layer's scope closes. */
export const TempDatabase = Layer.unwrapScoped(
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "pocket-gateway-"))),
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true })),
    ),
    (dir) => Database.layer({ file: join(dir, "gateway.sqlite") }),
  ),
);
