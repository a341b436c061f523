import { fileURLToPath } from "node:url";
import { commandBundleSetup } from "@pocket-ai/bundle";

/**
 * `pocket-gateway` bundled as operators deploy it (`pnpm build`), rebuilt for every test run by the
 * global setup below: tests run the command as `node POCKET_GATEWAY_COMMAND …`.
 */
export const POCKET_GATEWAY_COMMAND = fileURLToPath(
  new URL("../../dist/test/pocket-gateway.mjs", import.meta.url),
);

export default commandBundleSetup({
  entry: fileURLToPath(new URL("../../src/cli.ts", import.meta.url)),
  outfile: POCKET_GATEWAY_COMMAND,
});
