import { fileURLToPath } from "node:url";
import { commandBundleSetup } from "@pocket-ai/bundle";

/**
 * `pocket-evaluator` bundled as operators deploy it (`pnpm build`), rebuilt for every test run by the
 * global setup below: tests run the command as `node POCKET_EVALUATOR_COMMAND …`.
 */
export const POCKET_EVALUATOR_COMMAND = fileURLToPath(
  new URL("../dist/test/pocket-evaluator.mjs", import.meta.url),
);

export default commandBundleSetup({
  entry: fileURLToPath(new URL("../src/cli.ts", import.meta.url)),
  outfile: POCKET_EVALUATOR_COMMAND,
});
