import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from "node:crypto";

/** scrypt's cost: N = 2^logN, block size r, parallelism p. Memory is 128·N·r bytes. */
export interface ScryptCost {
  readonly logN: number;
  readonly r: number;
  readonly p: number;
}

const KEY_BYTES = 32;
const SALT_BYTES = 16;
const FORMAT = /^scrypt\$(\d{1,2})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9_-]{16,64})\$([A-Za-z0-9_-]{40,64})$/;

function derive(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  const N = 2 ** cost.logN;
  const options: ScryptOptions = { N, r: cost.r, p: cost.p, maxmem: 256 * N * cost.r + 1024 * 1024 };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize("NFKC"), salt, KEY_BYTES, options, (error, key) =>
      error === null ? resolve(key) : reject(error),
    ),
  );
}

/**
 * A password's stored form: `scrypt$logN$r$p$salt$hash` (base64url), memory-hard so a stolen
 * table is slow to guess from, salted so equal passwords hash apart. Runs on libuv's thread pool,
 * not the event loop.
 */
export async function hashPassword(password: string, cost: ScryptCost): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, cost);
  return `scrypt$${cost.logN}$${cost.r}$${cost.p}$${salt.toString("base64url")}$${key.toString("base64url")}`;
}

/**
 * Whether `password` matches a stored hash, compared in constant time with the cost the hash was
 * made with (so raising the cost later keeps old passwords working). A malformed hash never matches.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = FORMAT.exec(stored);
  if (m === null) return false;
  const cost = { logN: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  if (cost.logN < 10 || cost.logN > 20 || cost.r < 1 || cost.r > 32 || cost.p < 1 || cost.p > 16)
    return false;
  const expected = Buffer.from(m[5]!, "base64url");
  const actual = await derive(password, Buffer.from(m[4]!, "base64url"), cost);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Whether a stored hash is weaker than the configured cost (it is re-hashed at the next log-in). */
export function needsRehash(stored: string, cost: ScryptCost): boolean {
  const m = FORMAT.exec(stored);
  return m === null || Number(m[1]) < cost.logN || Number(m[2]) < cost.r || Number(m[3]) < cost.p;
}
