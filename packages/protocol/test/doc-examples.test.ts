/**
 * The `@example` blocks of the doc comments are what a reader of docs/api (and of an editor's
 * hover) copies into their own project. Each one is type-checked as a consumer's module that
 * imports the names it uses from `@pocket-ai/protocol`, under the strict settings this repository
 * builds with (`doc-examples-check.mjs`, in its own process). Many examples continue a reader's own
 * code (`request`, `nodeKeyPair`, `body`): a name the example does not define is the reader's, so
 * "cannot find name" is not an error there; any other type error is.
 */
import { execFile } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
const srcDir = resolve(here, "../src");

describe("doc comment examples", () => {
  it("type-check as a consumer's code importing @pocket-ai/protocol, from every module of the package", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [join(here, "doc-examples-check.mjs")], {
      maxBuffer: 16 * 1024 * 1024,
    });
    const found = JSON.parse(stdout) as { examples: number; modules: string[]; problems: string[] };
    // The extraction itself must keep working: hundreds of examples, from every module.
    expect(found.examples).toBeGreaterThan(300);
    const expected = readdirSync(srcDir).filter((name) => statSync(join(srcDir, name)).isDirectory());
    expect(found.modules).toEqual(expected.sort());
    expect(found.problems).toEqual([]);
  }, 600_000);
});
