// The published package's `exports` (dist/, import and require) come from `publishConfig`, which
// only pnpm applies when packing: `npm pack` or `npm publish` would ship `exports` pointing at the
// TypeScript sources. Packing with anything but pnpm stops here, with what to run instead.
const agent = process.env.npm_config_user_agent ?? "";
if (!agent.startsWith("pnpm/")) {
  console.error(
    "PACK_WITH_PNPM: @pocket-ai/protocol is packed and published with pnpm (`pnpm pack` / `pnpm publish`), which applies publishConfig's exports; npm would ship exports pointing at src/.",
  );
  process.exit(1);
}
