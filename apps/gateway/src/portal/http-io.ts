import type { IncomingMessage, ServerResponse } from "node:http";
import type { Html } from "./html.js";
import { refuse } from "./portal-errors.js";

/** Headers on every portal answer: no caching of account pages, no framing, a strict content policy. */
export const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "same-origin",
  "cross-origin-opener-policy": "same-origin",
  "cache-control": "no-store",
};

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? "").split(";")) {
    const at = part.indexOf("=");
    if (at <= 0) continue;
    const name = part.slice(0, at).trim();
    if (!out.has(name)) out.set(name, part.slice(at + 1).trim());
  }
  return out;
}

export interface CookieOptions {
  readonly secure: boolean;
  /** Seconds; 0 deletes the cookie; undefined makes a browser-session cookie. */
  readonly maxAge?: number | undefined;
}

/** `name=value; Path=/; HttpOnly; SameSite=Lax[; Secure][; Max-Age=n]` — never readable by script. */
export function cookieHeader(name: string, value: string, options: CookieOptions): string {
  return [
    `${name}=${value}`,
    "Path=/",
    "HttpOnly",
    "SameSite=Lax",
    ...(options.secure ? ["Secure"] : []),
    ...(options.maxAge === undefined ? [] : [`Max-Age=${options.maxAge}`]),
  ].join("; ");
}

const MAX_FORM_BYTES = 32 * 1024;

/** Reads an `application/x-www-form-urlencoded` body of at most 32 KiB. */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded")
    throw refuse("INVALID_REQUEST", "Send the form as application/x-www-form-urlencoded.");
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) throw refuse("INVALID_REQUEST", "The form is too large.");
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

export function sendHtml(
  res: ServerResponse,
  status: number,
  body: Html,
  cookies: readonly string[] = [],
): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    "content-type": "text/html; charset=utf-8",
    ...(cookies.length > 0 ? { "set-cookie": [...cookies] } : {}),
  });
  res.end(body.value);
}

export function redirect(res: ServerResponse, location: string, cookies: readonly string[] = []): void {
  res.writeHead(303, {
    ...SECURITY_HEADERS,
    location,
    ...(cookies.length > 0 ? { "set-cookie": [...cookies] } : {}),
  });
  res.end();
}

export function sendDownload(res: ServerResponse, filename: string, type: string, body: string): void {
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    "content-type": `${type}; charset=utf-8`,
    "content-disposition": `attachment; filename="${filename.replace(/[^A-Za-z0-9._-]/g, "_")}"`,
  });
  res.end(body);
}

export function sendAsset(res: ServerResponse, type: string, body: string): void {
  res.writeHead(200, {
    "content-type": `${type}; charset=utf-8`,
    "cache-control": "public, max-age=300",
    "x-content-type-options": "nosniff",
  });
  res.end(body);
}
