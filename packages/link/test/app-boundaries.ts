import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";

/**
 * The rule "apps import only packages", checked over the source. An app (`apps/<name>/src` and
 * `apps/<name>/test`) may import packages and its own files. Exceptions, and only these:
 *
 * - `apps/localnet` composes the apps, so it imports their public entries (never their files).
 * - Test code (`apps/<name>/test/**` or a `*.test.ts` file) may start a real node through the
 *   node's public entry, `@pocket-ai/node`, taking only the start-a-node API below, and may use the
 *   node's public test entry `@pocket-ai/node/fakes` (fake engines and the development engines).
 *   It may start a real gateway the same way, through `@pocket-ai/gateway`'s start-a-gateway API.
 *
 * Everything else is a violation: another app's package name or subpath, a relative path that
 * leaves the app's folder, a `/// <reference path>` into another app.
 */
export const APP_PACKAGES = ["gateway", "node", "evaluator", "localnet"] as const;

/** The node's public entry, as tests may use it: start a node, configure it, stop it. */
export const NODE_START_API: ReadonlySet<string> = new Set([
  "startNode",
  "NodeConfig",
  "RunningNode",
  "StartNodeOptions",
  "NodeStartError",
]);

/** The gateway's public entry, as tests may use it: start a gateway, configure it, call it, stop it. */
export const GATEWAY_START_API: ReadonlySet<string> = new Set([
  "startGateway",
  "GatewayConfig",
  "RunningGateway",
  "GatewayAppRouter",
  "GatewayStartError",
]);

/** What a test may take from another app's public entry. */
const START_APIS: Readonly<Record<string, ReadonlySet<string>>> = {
  node: NODE_START_API,
  gateway: GATEWAY_START_API,
};

/** The node's public test entry. */
export const NODE_TEST_ENTRY = "@pocket-ai/node/fakes";

export interface BoundaryViolation {
  /** The file, relative to the repository root, with `/` separators. */
  readonly file: string;
  readonly specifier: string;
  readonly why: string;
}

const SOURCE = /\.(?:ts|tsx|mts|cts|js|mjs|cjs)$/;

function sourceFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    if (name === "node_modules" || name === "dist") return [];
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return SOURCE.test(name) ? [path] : [];
  });
}

interface ModuleReference {
  readonly specifier: string;
  /** Names taken by `import { … } from` / `export { … } from`; undefined for any other form. */
  readonly names: readonly string[] | undefined;
}

/** Every module a file names: static imports and re-exports, side-effect imports, `import()`, `require()`, `vi.mock()`, triple-slash paths. */
export function moduleReferences(text: string): ModuleReference[] {
  const found: ModuleReference[] = [];
  const fromClause = /\b(?:import|export)\s+(?:type\s+)?([^;'"]*?)\s*\bfrom\s*["']([^"']+)["']/g;
  for (const match of text.matchAll(fromClause)) {
    const clause = match[1]!.trim();
    const braces = /^\{([^}]*)\}$/.exec(clause);
    const names =
      braces === null
        ? undefined
        : braces[1]!
            .split(",")
            .map((part) => part.trim().replace(/^type\s+/, ""))
            .filter((part) => part.length > 0)
            .map((part) => part.split(/\s+as\s+/)[0]!.trim());
    found.push({ specifier: match[2]!, names });
  }
  const bare = [
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']/g,
    /\brequire\s*\(\s*["']([^"']+)["']/g,
    /\bvi\.(?:mock|doMock|importActual)\s*(?:<[^>]*>)?\(\s*["']([^"']+)["']/g,
    /\/\/\/\s*<reference\s+path\s*=\s*["']([^"']+)["']/g,
  ];
  for (const pattern of bare) {
    for (const match of text.matchAll(pattern)) found.push({ specifier: match[1]!, names: undefined });
  }
  return found;
}

const isTestFile = (pathInApp: string) =>
  pathInApp.startsWith(`test${sep}`) || /\.test\.[cm]?tsx?$/.test(pathInApp);

/** The violations of the rule above under `repoRoot/apps`; empty when the apps keep to it. */
export function appBoundaryViolations(repoRoot: string): BoundaryViolation[] {
  const appsDir = join(repoRoot, "apps");
  let apps: string[];
  try {
    apps = readdirSync(appsDir).filter((name) => statSync(join(appsDir, name)).isDirectory());
  } catch {
    return [];
  }
  const violations: BoundaryViolation[] = [];
  for (const app of apps) {
    const appDir = join(appsDir, app);
    for (const file of [...sourceFiles(join(appDir, "src")), ...sourceFiles(join(appDir, "test"))]) {
      const inApp = relative(appDir, file);
      const shown = relative(repoRoot, file).split(sep).join("/");
      const test = isTestFile(inApp);
      for (const { specifier, names } of moduleReferences(readFileSync(file, "utf8"))) {
        const flag = (why: string) => violations.push({ file: shown, specifier, why });
        if (specifier.startsWith(".")) {
          const target = resolve(dirname(file), specifier);
          if (target !== appDir && !target.startsWith(appDir + sep))
            flag("a relative path out of the app's folder");
          continue;
        }
        const other = /^@pocket-ai\/([^/]+)(\/.*)?$/.exec(specifier);
        if (other === null) continue;
        const [, target = "", subpath = ""] = other;
        if (!(APP_PACKAGES as readonly string[]).includes(target) || target === app) continue;
        if (subpath.startsWith("/src") || subpath.startsWith("/test")) {
          flag("another app's files; use its public entry");
          continue;
        }
        if (app === "localnet") continue;
        if (target === "node" && test && specifier === NODE_TEST_ENTRY) continue;
        const startApi = START_APIS[target];
        if (startApi !== undefined && test && subpath === "") {
          const outside =
            names === undefined ? ["(not a named import)"] : names.filter((n) => !startApi.has(n));
          if (outside.length > 0)
            flag(
              `takes ${outside.join(", ")} from the ${target}'s entry; tests may take only its start-a-${target} API`,
            );
          continue;
        }
        flag(
          test
            ? `another app (${target}); tests may use only the node's and the gateway's public entries`
            : `another app (${target})`,
        );
      }
    }
  }
  return violations;
}
