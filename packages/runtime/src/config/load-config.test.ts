import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect, Either } from "effect";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { applyEnvOverrides, ConfigError, loadConfig } from "./load-config.js";

const Schema = z.strictObject({
  listen: z.strictObject({ host: z.string().default("127.0.0.1"), port: z.number().int() }),
  name: z.string(),
  tags: z.array(z.string()).default([]),
});

const dir = mkdtempSync(join(tmpdir(), "pocket-config-"));

describe("loadConfig", () => {
  it("reads YAML and applies env overrides with JSON-typed values", () => {
    const file = join(dir, "a.yaml");
    writeFileSync(file, "name: alpha\nlisten:\n  port: 1000\n");
    const config = Effect.runSync(
      loadConfig({
        schema: Schema,
        file,
        envPrefix: "POCKET_TEST",
        env: { POCKET_TEST__LISTEN__PORT: "2000", POCKET_TEST__TAGS: '["x","y"]', OTHER: "1" },
      }),
    );
    expect(config).toEqual({ name: "alpha", listen: { host: "127.0.0.1", port: 2000 }, tags: ["x", "y"] });
  });

  it("reads JSON", () => {
    const file = join(dir, "b.json");
    writeFileSync(file, JSON.stringify({ name: "beta", listen: { port: 1 } }));
    expect(Effect.runSync(loadConfig({ schema: Schema, file, envPrefix: "P", env: {} })).name).toBe("beta");
  });

  it("names every bad field", () => {
    const file = join(dir, "c.yaml");
    writeFileSync(file, "name: 3\nlisten:\n  port: nope\nextra: 1\n");
    const result = Effect.runSync(
      Effect.either(loadConfig({ schema: Schema, file, envPrefix: "P", env: {} })),
    );
    expect(Either.isLeft(result)).toBe(true);
    if (Either.isLeft(result)) {
      expect(result.left).toBeInstanceOf(ConfigError);
      const text = result.left.message;
      expect(text).toContain("name:");
      expect(text).toContain("listen.port:");
      expect(text).toContain("extra");
    }
  });

  it("reports an unreadable file as a config error, not a crash", () => {
    const result = Effect.runSync(
      Effect.either(loadConfig({ schema: Schema, file: join(dir, "missing.yaml"), envPrefix: "P", env: {} })),
    );
    expect(Either.isLeft(result) && result.left.problems[0]).toMatch(/cannot read/);
  });

  it("maps SNAKE_CASE env segments to camelCase keys", () => {
    expect(applyEnvOverrides({}, "X", { X__DATA_DIR: "/tmp/d", X__LISTEN__PORT: "7" })).toEqual({
      dataDir: "/tmp/d",
      listen: { port: 7 },
    });
  });
});

describe("a bad value set from the environment", () => {
  it("names the variable, not only the file", async () => {
    const schema = z.strictObject({
      listen: z.strictObject({ port: z.number().int().max(65535).default(80) }).prefault({}),
      name: z.string().default("x"),
    });
    const error = await Effect.runPromise(
      Effect.flip(
        loadConfig({
          schema,
          envPrefix: "POCKET_TEST",
          env: { POCKET_TEST__LISTEN__PROT: "9000", POCKET_TEST__NAME: "fine", POCKET_TEST__TYPO: "1" },
        }),
      ),
    );
    expect(error.source).toBe("(no file) and the environment");
    expect(error.problems).toContainEqual(
      expect.stringMatching(/^listen: .*"prot".*\(set by POCKET_TEST__LISTEN__PROT\)$/),
    );
    expect(error.problems).toContainEqual(
      expect.stringMatching(/^\(root\): .*"typo".*\(set by POCKET_TEST__TYPO\)$/),
    );
    const fine = await Effect.runPromise(
      Effect.flip(
        loadConfig({ schema, envPrefix: "POCKET_TEST", env: { POCKET_TEST__LISTEN__PORT: "70000" } }),
      ),
    );
    expect(fine.problems).toEqual([
      expect.stringMatching(/^listen\.port: .*\(set by POCKET_TEST__LISTEN__PORT\)$/),
    ]);
  });
});

describe("an environment override that is broken JSON", () => {
  it("says the variable's JSON does not parse, under the stable INVALID_CONFIG code", async () => {
    const schema = z.strictObject({
      cors: z.strictObject({ origins: z.array(z.string()).default(["*"]) }).prefault({}),
      routing: z.strictObject({ hedge: z.strictObject({ enabled: z.boolean() }).optional() }).prefault({}),
    });
    const error = await Effect.runPromise(
      Effect.flip(
        loadConfig({
          schema,
          envPrefix: "POCKET_TEST",
          env: {
            POCKET_TEST__CORS__ORIGINS: '["https://a.example"',
            POCKET_TEST__ROUTING__HEDGE: '{"enabled":false,}',
          },
        }),
      ),
    );
    expect(error.code).toBe("INVALID_CONFIG");
    expect(error.message).toMatch(/^INVALID_CONFIG: invalid configuration/);
    expect(error.problems).toEqual([
      expect.stringMatching(/^cors\.origins: not valid JSON \(.+\) \(set by POCKET_TEST__CORS__ORIGINS\)$/),
      expect.stringMatching(/^routing\.hedge: not valid JSON \(.+\) \(set by POCKET_TEST__ROUTING__HEDGE\)$/),
    ]);
  });
});
