import { fileURLToPath } from "node:url";
import { commandBundleSetup } from "@pocket-ai/bundle";

/**
 * `pocket-node` bundled as operators deploy it (`pnpm build`), rebuilt for every test run by the
 * global setup below: tests run the command as `node POCKET_NODE_COMMAND …`.
 */
export const POCKET_NODE_COMMAND = fileURLToPath(new URL("../../dist/test/pocket-node.mjs", import.meta.url));

export default commandBundleSetup({
  entry: fileURLToPath(new URL("../../src/cli.ts", import.meta.url)),
  outfile: POCKET_NODE_COMMAND,
});
