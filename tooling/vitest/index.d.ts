import type { UserConfig } from "vitest/config";

/** The vitest configuration every package shares. */
export declare const baseConfig: UserConfig;
