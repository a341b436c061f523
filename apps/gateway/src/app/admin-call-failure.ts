import { pocketCodeOf } from "@pocket-ai/link";

/** The socket error under a failed `fetch` (`ECONNREFUSED`, `ENOTFOUND`…), when there is one. */
function socketErrorOf(e: unknown): string | undefined {
  for (let cause = e, depth = 0; cause instanceof Error && depth < 4; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string" && /^E[A-Z]+$|^UND_ERR/.test(code)) return code;
    cause = (cause as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * What an admin command prints when its call to the gateway's admin API failed: the gateway's
 * stable code and message, or, when the gateway could not be reached at all, where it was looked
 * for and how to point the command elsewhere (instead of fetch's bare "fetch failed").
 */
export function adminCallFailure(e: unknown, url: string): string {
  const code = pocketCodeOf(e);
  const reason = e instanceof Error ? e.message : String(e);
  if (code !== undefined) return `${code}: ${reason}`;
  const socket = socketErrorOf(e);
  if (socket !== undefined || reason === "fetch failed")
    return (
      `cannot reach the gateway's admin API at ${url}${socket === undefined ? "" : ` (${socket})`}: ` +
      "is the gateway running there? Pass --url or set POCKET_GATEWAY_URL to the one to call"
    );
  return `${url}: ${reason}`;
}
