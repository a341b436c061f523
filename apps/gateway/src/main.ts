// `pnpm start` in apps/gateway: the same as `pocket-gateway start`.
process.argv.splice(2, 0, "start");
await import("./cli.js");
