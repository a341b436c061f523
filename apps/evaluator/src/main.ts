// `pnpm start` in apps/evaluator: the same as `pocket-evaluator start`.
process.argv.splice(2, 0, "start");
await import("./cli.js");
