import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  API_KEY_PATTERN,
  bearerToken,
  generateApiKey,
  hashApiKey,
  isWellFormedApiKey,
  randomBase62,
  sameHash,
  visiblePrefix,
} from "./api-key-format.js";

describe("API key format", () => {
  it("is pai_ and 32 base62 characters, fresh each time", () => {
    const keys = Array.from({ length: 500 }, generateApiKey);
    for (const key of keys) expect(key).toMatch(API_KEY_PATTERN);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("draws every base62 character, roughly evenly", () => {
    const counts = new Map<string, number>();
    for (const c of randomBase62(62_000)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    for (const n of counts.values()) expect(n).toBeGreaterThan(700);
  });

  it("refuses anything but the exact shape", () => {
    const key = generateApiKey();
    expect(isWellFormedApiKey(key)).toBe(true);
    for (const bad of [
      "",
      key.slice(0, -1),
      `${key}x`,
      key.replace("pai_", "sk-_"),
      `${key.slice(0, -1)}-`,
    ]) {
      expect(isWellFormedApiKey(bad)).toBe(false);
    }
  });

  it("stores a SHA-256 hash and shows only a short prefix", () => {
    const key = generateApiKey();
    expect(hashApiKey(key)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiKey(key)).not.toContain(key.slice(4));
    expect(visiblePrefix(key)).toBe(`${key.slice(0, 10)}…`);
  });

  it("compares hashes in constant time and by value", () => {
    const h = hashApiKey(generateApiKey());
    expect(sameHash(h, h)).toBe(true);
    expect(sameHash(h, hashApiKey(generateApiKey()))).toBe(false);
    expect(sameHash(h, h.slice(2))).toBe(false);
  });

  it("reads Bearer headers and bare keys", () => {
    expect(bearerToken(undefined)).toBeUndefined();
    expect(bearerToken("  ")).toBeUndefined();
    expect(bearerToken("Bearer ")).toBe("Bearer");
    expect(bearerToken("bearer   pai_x ")).toBe("pai_x");
    fc.assert(
      fc.property(fc.stringMatching(/^[!-~]{1,60}$/), (token) => {
        expect(bearerToken(`Bearer ${token}`)).toBe(token);
      }),
    );
  });
});
