import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ExpiringBytes, KEPT_ENTRY_OVERHEAD_BYTES } from "./expiring-bytes.js";
import { StreamedItemStore } from "./responses/streamed-items.js";

/** The memory a kept Buffer holds alive: the whole block it is a view on. */
const heldBytes = (bytes: Buffer) => bytes.buffer.byteLength;

describe("ExpiringBytes", () => {
  it("keeps a small Buffer cut from a larger block in memory of its own, not the whole block", () => {
    const kept = new ExpiringBytes({ ttlMs: 60_000, maxBytes: 1 << 20 });
    const block = Buffer.alloc(8_192, 7);
    kept.put("a", block.subarray(100, 180));
    const [bytes] = [...kept.values()];
    expect(bytes).toEqual(Buffer.alloc(80, 7));
    expect(heldBytes(bytes!)).toBe(80);
    expect(kept.stats()).toEqual({ entries: 1, bytes: 80 + KEPT_ENTRY_OVERHEAD_BYTES });
  });

  it("counts each entry's overhead against the bounds: many short entries hold no more than maxBytes", () => {
    // Room for 10 entries of 8 bytes with their overhead, for an owner 4: not for 10 000 or 5 000
    // (what the bytes alone would allow).
    const entry = 8 + KEPT_ENTRY_OVERHEAD_BYTES;
    const kept = new ExpiringBytes({ ttlMs: 60_000, maxBytes: 10 * entry, maxBytesPerOwner: 4 * entry });
    for (let i = 0; i < 1_000; i++)
      kept.put(`short-${i}`, Buffer.alloc(8, i), i % 2 === 0 ? "app" : undefined);
    expect(kept.stats()).toEqual({ entries: 10, bytes: 10 * entry });
    // The newest, and of the owner's at most its share: its 4 newest, then 6 unowned ones.
    expect(new Set(kept.names())).toEqual(
      new Set([989, 991, 992, 993, 994, 995, 996, 997, 998, 999].map((i) => `short-${i}`)),
    );
    // One whose bytes fit but whose overhead does not is not kept.
    expect(kept.put("whole", Buffer.alloc(10 * entry - KEPT_ENTRY_OVERHEAD_BYTES + 1))).toBe(false);
    expect(kept.put("whole", Buffer.alloc(10 * entry - KEPT_ENTRY_OVERHEAD_BYTES))).toBe(true);
    expect(kept.stats()).toEqual({ entries: 1, bytes: 10 * entry });
  });

  it("keeps a Buffer that owns its memory as it is", () => {
    const kept = new ExpiringBytes({ ttlMs: 60_000, maxBytes: 1 << 20 });
    const own = Buffer.allocUnsafeSlow(64).fill(1);
    kept.put("a", own);
    expect([...kept.values()][0]).toBe(own);
  });

  it("holds no more memory than a streamed item's ciphertext for each item it keeps", () => {
    const store = new StreamedItemStore(
      { ttlMs: 60_000, maxBytes: 1 << 20 },
      "0123456789abcdef",
      randomBytes(32),
    );
    const ids = Array.from({ length: 50 }, (_, i) => {
      const item = store.announce("app1");
      item.keep(`a short answer ${i}`);
      return item.id;
    });
    for (const id of ids) {
      const ref = store.parse(id, "app1");
      const kept = ref === undefined ? undefined : store.ciphertext(ref.hash);
      expect(kept).toBeDefined();
      expect(heldBytes(kept!.bytes)).toBe(kept!.bytes.length);
    }
  });
});
