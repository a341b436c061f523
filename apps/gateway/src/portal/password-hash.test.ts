import { describe, expect, it } from "vitest";
import { hashPassword, needsRehash, verifyPassword } from "./password-hash.js";

const FAST = { logN: 10, r: 8, p: 1 };

describe("password hashing (scrypt)", () => {
  it("verifies the right password and refuses a wrong one", async () => {
    const stored = await hashPassword("correct horse battery", FAST);
    expect(stored).toMatch(/^scrypt\$10\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(await verifyPassword("correct horse battery", stored)).toBe(true);
    expect(await verifyPassword("correct horse batterY", stored)).toBe(false);
    expect(await verifyPassword("", stored)).toBe(false);
  });

  it("salts: one password hashes differently twice, and both verify", async () => {
    const a = await hashPassword("same password here", FAST);
    const b = await hashPassword("same password here", FAST);
    expect(a).not.toBe(b);
    expect(await verifyPassword("same password here", a)).toBe(true);
    expect(await verifyPassword("same password here", b)).toBe(true);
  });

  it("uses the default memory-hard cost (N = 2^15, r = 8: 32 MiB) and keeps it in the hash", async () => {
    const stored = await hashPassword("a default-cost password", { logN: 15, r: 8, p: 1 });
    expect(stored.startsWith("scrypt$15$8$1$")).toBe(true);
    expect(await verifyPassword("a default-cost password", stored)).toBe(true);
    expect(needsRehash(stored, { logN: 15, r: 8, p: 1 })).toBe(false);
    expect(needsRehash(await hashPassword("x".repeat(12), FAST), { logN: 15, r: 8, p: 1 })).toBe(true);
  }, 30_000);

  it("never matches a malformed or tampered hash, and refuses absurd costs", async () => {
    const stored = await hashPassword("tamper proof phrase", FAST);
    const parts = stored.split("$");
    const flipped = [...parts.slice(0, 5), `${parts[5]!.slice(0, -2)}AA`].join("$");
    expect(await verifyPassword("tamper proof phrase", flipped)).toBe(false);
    expect(await verifyPassword("tamper proof phrase", "plain-text")).toBe(false);
    expect(await verifyPassword("tamper proof phrase", stored.replace("scrypt$10$", "scrypt$30$"))).toBe(
      false,
    );
  });

  it("normalizes Unicode, so the same password typed on another keyboard still matches", async () => {
    const stored = await hashPassword("caf\u00e9 au lait 42", FAST);
    expect(await verifyPassword("cafe\u0301 au lait 42", stored)).toBe(true);
  });
});
