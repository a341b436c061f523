// `@pocket-ai/runtime/testing`: helpers other packages' tests share.

export * from "./blackhole-proxy.js";
export * from "./newer-migrated.js";
export * from "./postgres-server.js";
export * from "./run-process.js";
export * from "./span-collector.js";
export * from "./stalled-upload.js";
