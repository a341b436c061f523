import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { appBoundaryViolations, moduleReferences } from "./app-boundaries.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

describe("apps import only packages", () => {
  it("holds for the repository's apps", () => {
    expect(appBoundaryViolations(repoRoot)).toEqual([]);
  });
});

describe("the boundary check", () => {
  let root: string | undefined;
  afterEach(() => {
    if (root !== undefined) rmSync(root, { recursive: true, force: true });
    root = undefined;
  });

  function repo(files: Record<string, string>): string {
    root = mkdtempSync(join(tmpdir(), "boundaries-"));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return root;
  }

  it("reads every form of module reference", () => {
    const refs = moduleReferences(
      [
        'import { a, type B as C } from "x1";',
        'import type { D } from "x2";',
        'import * as e from "x3";',
        'export { f } from "x4";',
        'import "x5";',
        'const g = await import("x6");',
        'vi.mock("x7", () => ({}));',
        '/// <reference path="x8" />',
        'import h, { i } from "x9";',
      ].join("\n"),
    );
    expect(refs.map((r) => r.specifier).sort()).toEqual([
      "x1",
      "x2",
      "x3",
      "x4",
      "x5",
      "x6",
      "x7",
      "x8",
      "x9",
    ]);
    expect(refs.find((r) => r.specifier === "x1")?.names).toEqual(["a", "B"]);
    expect(refs.find((r) => r.specifier === "x3")?.names).toBeUndefined();
  });

  it("flags an app importing another app, its files, or a path out of its folder", () => {
    const found = appBoundaryViolations(
      repo({
        "apps/gateway/src/a.ts": 'import { x } from "@pocket-ai/evaluator";\n',
        "apps/gateway/src/b.ts": 'import { startNode } from "@pocket-ai/node";\n',
        "apps/gateway/src/c.ts": 'import { y } from "../../node/src/y.js";\n',
        "apps/evaluator/test/d.ts": 'import { createDevTextEngine } from "@pocket-ai/node";\n',
        "apps/evaluator/test/e.ts": 'import type { AppRouter } from "@pocket-ai/gateway/router";\n',
        "apps/evaluator/test/e2.test.ts": 'import { startGateway, Limits } from "@pocket-ai/gateway";\n',
        "apps/evaluator/src/f.test.ts": 'const m = await import("@pocket-ai/node/src/index.js");\n',
        "apps/node/src/g.ts": '/// <reference path="../../gateway/src/types.d.ts" />\n',
        "apps/localnet/src/h.ts": 'import { z } from "../../gateway/src/z.js";\n',
      }),
    );
    expect(found.map((v) => v.file).sort()).toEqual([
      "apps/evaluator/src/f.test.ts",
      "apps/evaluator/test/d.ts",
      "apps/evaluator/test/e.ts",
      "apps/evaluator/test/e2.test.ts",
      "apps/gateway/src/a.ts",
      "apps/gateway/src/b.ts",
      "apps/gateway/src/c.ts",
      "apps/localnet/src/h.ts",
      "apps/node/src/g.ts",
    ]);
  });

  it("allows packages, own files, the local network's composition and tests starting a real node or gateway", () => {
    const found = appBoundaryViolations(
      repo({
        "apps/gateway/src/a.ts": 'import { x } from "@pocket-ai/protocol";\nimport { y } from "../b.js";\n',
        "apps/gateway/test/b.test.ts":
          'import { NodeConfig, type RunningNode, startNode } from "@pocket-ai/node";\nimport { startFakeVllm } from "@pocket-ai/node/fakes";\nimport { z } from "../src/a.js";\n',
        "apps/evaluator/src/c.test.ts": 'import { createDevTextEngine } from "@pocket-ai/node/fakes";\n',
        "apps/evaluator/test/g.test.ts":
          'import { type GatewayAppRouter, GatewayConfig, startGateway } from "@pocket-ai/gateway";\n',
        "apps/localnet/src/d.ts":
          'import { startGateway } from "@pocket-ai/gateway";\nimport { runRound } from "@pocket-ai/evaluator/app";\n',
        "apps/node/src/e.ts": 'import { f } from "@pocket-ai/node";\n',
      }),
    );
    expect(found).toEqual([]);
  });
});
