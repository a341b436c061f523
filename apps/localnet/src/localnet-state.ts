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

/**
 * The state a previous run kept, or a fresh one when there is none or it is not this shape (a
 * file cut short, or edited): the gateway's database keeps the applications, so the demo and
 * evaluator keys are made again. A file that cannot be read throws (its folder's permissions).
 */
export function loadState(dataDir: string): LocalnetState {
  const file = join(dataDir, "localnet.json");
  if (existsSync(file)) {
    const parsed = State.safeParse(parseJson(readFileSync(file, "utf8")));
    if (parsed.success) return parsed.data;
  }
  return { adminToken: randomBytes(24).toString("base64url") };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function saveState(dataDir: string, state: LocalnetState): void {
  makePrivateDir(dataDir);
  writeFileSync(join(dataDir, "localnet.json"), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}
