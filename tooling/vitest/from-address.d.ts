import type { IncomingHttpHeaders } from "node:http";

/** An IPv4 address of this machine that is not loopback, or `undefined` on a machine with none. */
export declare function nonLoopbackAddress(): string | undefined;

/** `GET url` from the local address `from`; its status, headers and body as text. */
export declare function getFrom(
  url: string,
  from: string,
  headers?: Record<string, string>,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>;
