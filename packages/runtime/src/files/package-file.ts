import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const nameOf = (packageJson: string): string | undefined => {
  try {
    return (JSON.parse(readFileSync(packageJson, "utf8")) as { name?: unknown }).name as string | undefined;
  } catch {
    return undefined;
  }
};

/**
 * The folder of the workspace package `name` that the module at `moduleUrl` belongs to, found the
 * same way whether the module runs from its TypeScript source (`src/…`) or bundled into one file
 * (`dist/…`, see `pnpm build`): the nearest folder above it whose `package.json` is `name`'s, else
 * wherever `name` resolves from there (a bundle of a program that depends on the package).
 */
export function packageDir(moduleUrl: string | URL, name: string): string {
  const start = fileURLToPath(moduleUrl);
  for (let dir = dirname(start); ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && nameOf(manifest) === name) return dir;
    if (dirname(dir) === dir) break;
  }
  return dirname(createRequire(start).resolve(`${name}/package.json`));
}

/** A file or folder shipped with package `name` (a path from its root): see {@link packageDir}. */
export function packageFile(moduleUrl: string | URL, name: string, path: string): string {
  return join(packageDir(moduleUrl, name), path);
}
