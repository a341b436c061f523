import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makePrivateDir } from "@pocket-ai/runtime";
import { z } from "zod";

/** Secrets the local network keeps across restarts, in `<dataDir>/localnet.json` (mode 0600). */
const State = z.object({
  adminToken: z.string().min(16),
  demo: z.object({ applicationId: z.string(), keyId: z.string(), secret: z.string() }).optional(),
  evaluator: z.object({ applicationId: z.string(), keyId: z.string(), secret: z.string() }).optional(),
});
export type LocalnetState = z.infer<typeof State>;

export function loadState(dataDir: string): LocalnetState {
  const file = join(dataDir, "localnet.json");
  if (existsSync(file)) {
    const parsed = State.safeParse(JSON.parse(readFileSync(file, "utf8")));
    if (parsed.success) return parsed.data;
  }
  return { adminToken: randomBytes(24).toString("base64url") };
}

export function saveState(dataDir: string, state: LocalnetState): void {
  makePrivateDir(dataDir);
  writeFileSync(join(dataDir, "localnet.json"), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}
