import { loadKeyFile, writeKeyFile } from "@pocket-ai/runtime";

/** The node's signing key (see `loadKeyFile`): its address is where claims are paid. */
export const loadKeyPair = (options: {
  readonly privateKey?: string | undefined;
  readonly privateKeyFile: string;
  readonly createIfMissing: boolean;
}) => loadKeyFile({ ...options, generateCommand: "pocket-node keys generate --out FILE" });

export { writeKeyFile };
