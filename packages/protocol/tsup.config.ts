import { defineConfig } from "tsup";

// Dual build: `dist/index.js` (ESM, for `import`) and `dist/index.cjs` (CommonJS, for `require()`),
// each with its own declarations (`.d.ts`, `.d.cts`). `shims` gives the CommonJS build an
// `import.meta.url` (the native secp256k1 loader resolves from it).
export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  shims: true,
  target: "node20",
});
