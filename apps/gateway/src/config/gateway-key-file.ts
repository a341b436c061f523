import { loadKeyFile, writeKeyFile } from "@pocket-ai/runtime";

/**
 * The gateway's signing key (see `loadKeyFile`): nodes only serve the gateway address they were
 * configured with, so operators back the key file up.
 */
export const loadGatewayKey = (options: {
  readonly privateKey?: string | undefined;
  readonly privateKeyFile: string;
  readonly createIfMissing: boolean;
  readonly onCreate?: (file: string, address: string) => void;
  readonly onLoose?: (warning: string, file: string) => void;
}) => loadKeyFile({ ...options, generateCommand: "pocket-gateway keys generate --out FILE" });

export const writeGatewayKeyFile = writeKeyFile;
