import { describe, expect, it } from "vitest";
import { KeyCache } from "./key-cache.js";
import type { AuthenticatedKey } from "./records.js";

const key = (keyId: string, applicationId = "app_1"): AuthenticatedKey => ({
  keyId,
  applicationId,
  applicationAddress: "pokt1x",
  rpm: null,
  tpm: null,
  organicChecks: true,
});

describe("KeyCache", () => {
  it("forgets entries after the TTL", () => {
    const cache = new KeyCache(10, 1_000);
    cache.set("h1", key("k1"), 0);
    expect(cache.get("h1", 999)?.keyId).toBe("k1");
    expect(cache.get("h1", 1_000)).toBeUndefined();
  });

  it("evicts the oldest entry beyond its size", () => {
    const cache = new KeyCache(2, 1_000);
    cache.set("h1", key("k1"), 0);
    cache.set("h2", key("k2"), 0);
    cache.set("h3", key("k3"), 0);
    expect(cache.size).toBe(2);
    expect(cache.get("h1", 0)).toBeUndefined();
    expect(cache.get("h3", 0)?.keyId).toBe("k3");
  });

  it("invalidates by key or by application", () => {
    const cache = new KeyCache(10, 1_000);
    cache.set("h1", key("k1", "a"), 0);
    cache.set("h2", key("k2", "a"), 0);
    cache.set("h3", key("k3", "b"), 0);
    cache.invalidate((k) => k.keyId === "k3");
    expect(cache.get("h3", 0)).toBeUndefined();
    cache.invalidate((k) => k.applicationId === "a");
    expect(cache.size).toBe(0);
  });
});
