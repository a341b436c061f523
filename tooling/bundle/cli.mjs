#!/usr/bin/env node
// pocket-bundle <entry.ts> <out.mjs>: one app's command as one file for `node` (see bundle.mjs).
import { bundle } from "./bundle.mjs";

const [entry, outfile] = process.argv.slice(2);
if (entry === undefined || outfile === undefined) {
  process.stderr.write("usage: pocket-bundle <entry.ts> <out.mjs>\n");
  process.exit(2);
}
try {
  const out = await bundle({ entry, outfile });
  process.stdout.write(`${out.outfile}: ${(out.bytes / 1048576).toFixed(1)} MB\n`);
} catch (e) {
  process.stderr.write(`pocket-bundle: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
