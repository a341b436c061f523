/**
 * Third parties install `@pocket-ai/protocol` from npm. This test removes any earlier build, packs
 * the tarball exactly as `pnpm publish` would (its `prepack` script builds), unpacks it into a
 * folder outside the workspace and loads it from there — with plain Node through both `import`
 * (ESM build) and `require()` (CommonJS build), and with `tsc` for both sets of declarations — and
 * runs publint on the result.
 */
import { execFile, execFileSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const runtimeDeps = ["zod", "@noble/hashes", "@scure/base", "tiny-secp256k1"];
let consumerDir = "";

beforeAll(async () => {
  // No build here: `pnpm pack` must build by itself (`prepack`), or the tarball has no `dist/`.
  rmSync(join(packageDir, "dist"), { recursive: true, force: true });
  consumerDir = mkdtempSync(join(tmpdir(), "pocket-ai-consumer-"));
  // Asynchronous: the build takes a while, and a blocked worker cannot report to the test runner.
  await promisify(execFile)("pnpm", ["pack", "--pack-destination", consumerDir], { cwd: packageDir });
  const tarball = tarballName();
  const target = join(consumerDir, "node_modules", "@pocket-ai", "protocol");
  mkdirSync(target, { recursive: true });
  execFileSync("tar", ["xzf", join(consumerDir, tarball), "-C", target, "--strip-components=1"]);
  // Dependencies come from the workspace's install: this checks the package, not the registry.
  for (const dep of runtimeDeps) {
    const link = join(consumerDir, "node_modules", dep);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(realpathSync(join(packageDir, "node_modules", dep)), link, "dir");
  }
  writeFileSync(join(consumerDir, "package.json"), JSON.stringify({ name: "consumer", type: "module" }));
}, 300_000);

function shellEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(npm_|pnpm_)/i.test(key)));
}

/** The paths of an `exports` map, through its conditions. */
function leaves(value: unknown): unknown[] {
  if (value === null || typeof value !== "object") return [value];
  return Object.values(value).flatMap(leaves);
}

function tarballName(): string {
  const tarball = readdirSync(consumerDir).find((f) => f.endsWith(".tgz"));
  if (tarball === undefined) throw new Error("pnpm pack produced no tarball");
  return tarball;
}

afterAll(() => {
  if (consumerDir !== "") rmSync(consumerDir, { recursive: true, force: true });
});

describe("the packed package", () => {
  it("refuses to be packed by npm, which would ship exports pointing at the sources", async () => {
    const refused = await promisify(execFile)(
      "npm",
      ["pack", "--dry-run", "--pack-destination", consumerDir],
      // As from an operator's shell: without the package manager variables this test runs under
      // (pnpm's user agent would otherwise reach npm's lifecycle scripts).
      { cwd: packageDir, env: shellEnv() },
    ).then(
      () => undefined,
      (error: { stderr?: string }) => error.stderr ?? "",
    );
    expect(refused).toContain("PACK_WITH_PNPM");
    // npm starts slowly on a loaded machine: the refusal, not the time, decides this test.
  }, 180_000);

  it("ships only the build, sources and README, and points exports at dist", () => {
    const manifest = JSON.parse(
      execFileSync(
        "node",
        ["-p", "JSON.stringify(require('./node_modules/@pocket-ai/protocol/package.json'))"],
        {
          cwd: consumerDir,
        },
      ).toString(),
    ) as Record<string, unknown> & { exports: Record<string, unknown> };
    expect(manifest.exports["."]).toEqual({
      import: { types: "./dist/index.d.ts", default: "./dist/index.js" },
      require: { types: "./dist/index.d.cts", default: "./dist/index.cjs" },
    });
    const files = execFileSync("tar", ["tzf", join(consumerDir, tarballName())])
      .toString()
      .split("\n");
    // Every path the manifest points a consumer at is in the tarball.
    const targets = [manifest.main, manifest.module, manifest.types, ...leaves(manifest.exports)];
    for (const target of targets) {
      expect(typeof target).toBe("string");
      expect(files, String(target)).toContain(`package/${String(target).replace(/^\.\//, "")}`);
    }
    expect(files).toEqual(expect.arrayContaining(["package/README.md", "package/LICENSE"]));
    expect(manifest.license).toBe("MIT");
    expect(files.filter((f) => /\.(test|spec)\.ts$|^package\/(test|bench|scripts)\//.test(f))).toEqual([]);
    // pnpm rewrote every workspace and catalog specifier to a version a registry can resolve, and
    // nothing an installer fetches is one of the repository's unpublished packages.
    expect(JSON.stringify(manifest)).not.toMatch(/"(workspace|catalog):/);
    for (const field of ["dependencies", "optionalDependencies", "peerDependencies"]) {
      const deps = Object.keys((manifest[field] ?? {}) as Record<string, string>);
      expect(
        deps.filter((name) => name.startsWith("@pocket-ai/")),
        field,
      ).toEqual([]);
    }
  });

  it("loads with require() from a CommonJS consumer and gives the same answers as import", () => {
    const body = [
      "const sig = p.canonicalJson({ b: 1, a: 2 });",
      "const price = p.uPoktPerRelay(750, 250000);",
      "const err = p.protocolError('INPUT_TOO_LONG').status;",
      "const key = p.privateKeyFromHex('00'.repeat(31) + '07');",
      "const signature = p.signCanonical({ b: 1, a: [2] }, key);",
      "const ok = p.verifyCanonical({ a: [2], b: 1 }, p.publicKeyHexFromPrivateKey(key), signature);",
      "console.log(JSON.stringify({ sig, price: String(price), err, v: p.PROTOCOL_VERSION, signature, ok }));",
    ];
    const env = { ...process.env, NODE_PATH: "", POCKET_SECP256K1: "" };
    writeFileSync(
      join(consumerDir, "consumer.cjs"),
      ['const p = require("@pocket-ai/protocol");', ...body].join("\n"),
    );
    const required = execFileSync("node", ["consumer.cjs"], { cwd: consumerDir, env }).toString();
    const resolved = execFileSync("node", ["-p", "require.resolve('@pocket-ai/protocol')"], {
      cwd: consumerDir,
    })
      .toString()
      .trim();
    expect(resolved.endsWith(join("dist", "index.cjs"))).toBe(true);
    const imported = execFileSync(
      "node",
      ["--input-type=module", "-e", ['import * as p from "@pocket-ai/protocol";', ...body].join("\n")],
      { cwd: consumerDir, env },
    ).toString();
    const result = JSON.parse(required) as Record<string, unknown>;
    expect(result).toMatchObject({ sig: '{"a":2,"b":1}', price: "3000", err: 400, v: 1, ok: true });
    expect(result).toEqual(JSON.parse(imported));
  });

  it("imports with plain Node from outside the workspace and works", () => {
    const script = [
      'import * as p from "@pocket-ai/protocol";',
      "const sig = p.canonicalJson({ b: 1, a: 2 });",
      "const price = p.uPoktPerRelay(750, 250000);",
      "const err = p.protocolError('INPUT_TOO_LONG').status;",
      "console.log(JSON.stringify({ sig, price: String(price), err, v: p.PROTOCOL_VERSION }));",
    ].join("\n");
    const out = execFileSync("node", ["--input-type=module", "-e", script], { cwd: consumerDir }).toString();
    expect(JSON.parse(out)).toEqual({ sig: '{"a":2,"b":1}', price: "3000", err: 400, v: 1 });
  });

  it("signs with the WASM fallback when the native binding is absent, and identically with it", () => {
    const script = [
      'import * as p from "@pocket-ai/protocol";',
      "const key = p.privateKeyFromHex('00'.repeat(31) + '07');",
      "const sig = p.signCanonical({ b: 1, a: [2] }, key);",
      "const ok = p.verifyCanonical({ a: [2], b: 1 }, p.publicKeyHexFromPrivateKey(key), sig);",
      "console.log(JSON.stringify({ impl: p.secp256k1Implementation(), sig, ok }));",
    ].join("\n");
    const run = (env: Record<string, string> = {}) =>
      JSON.parse(
        execFileSync("node", ["--input-type=module", "-e", script], {
          cwd: consumerDir,
          // No NODE_PATH: package runners point it at the workspace's hoisted modules, native package included.
          env: { ...process.env, NODE_PATH: "", POCKET_SECP256K1: "", ...env },
        }).toString(),
      ) as { impl: string; sig: string; ok: boolean };
    // The consumer has not installed the optional native package yet.
    const fallback = run();
    expect(fallback.impl).toBe("wasm");
    expect(fallback.ok).toBe(true);
    const link = join(consumerDir, "node_modules", "secp256k1");
    symlinkSync(realpathSync(join(packageDir, "node_modules", "secp256k1")), link, "dir");
    try {
      const native = run();
      expect(native.impl).toBe("native");
      expect(native).toEqual({ ...fallback, impl: "native" });
      expect(run({ POCKET_SECP256K1: "wasm" })).toEqual(fallback);
    } finally {
      rmSync(link);
    }
  });

  it("type-checks TypeScript consumers, ESM and CommonJS, against the shipped declarations", async () => {
    writeFileSync(
      join(consumerDir, "consumer.ts"),
      [
        'import { canonicalJson, type ErrorCode, protocolError } from "@pocket-ai/protocol";',
        'const code: ErrorCode = "REPLAYED_RELAY";',
        "const text: string = canonicalJson({ code });",
        "export const status: number = protocolError(code).status + text.length;",
      ].join("\n"),
    );
    writeFileSync(
      join(consumerDir, "consumer-cjs.cts"),
      [
        'import protocol = require("@pocket-ai/protocol");',
        'const code: protocol.ErrorCode = "REPLAYED_RELAY";',
        "export const status: number = protocol.protocolError(code).status;",
      ].join("\n"),
    );
    const tsc = join(packageDir, "node_modules", "typescript", "bin", "tsc");
    const args = ["--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext"];
    // One compiler run for both files (it throws on any type error); its trace shows that the .cts
    // consumer got the CommonJS declarations and the .ts one the ESM declarations. Run without
    // blocking: a compiler minute on a loaded machine must not starve the test worker's own RPC.
    const { stdout: trace } = await promisify(execFile)(
      "node",
      [tsc, ...args, "--skipLibCheck", "false", "--traceResolution", "consumer.ts", "consumer-cjs.cts"],
      { cwd: consumerDir, maxBuffer: 256 * 1024 * 1024 },
    );
    expect(new Set(trace.match(/dist\/index\.d\.c?ts/g))).toEqual(
      new Set(["dist/index.d.ts", "dist/index.d.cts"]),
    );
  }, 300_000);

  it("passes publint", async () => {
    const publint = join(packageDir, "node_modules", "publint", "src", "cli.js");
    const { stdout: out } = await promisify(execFile)("node", [
      publint,
      "--strict",
      join(consumerDir, "node_modules", "@pocket-ai", "protocol"),
    ]);
    expect(out).not.toMatch(/error|warning/i);
  }, 120_000);
});
