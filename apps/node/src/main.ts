// `pnpm start` in apps/node: the same as `pocket-node start`.
process.argv.splice(2, 0, "start");
await import("./cli.js");
