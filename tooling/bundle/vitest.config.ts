import { baseConfig } from "@pocket-ai/vitest-config";

export default baseConfig;
