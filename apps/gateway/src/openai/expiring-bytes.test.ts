import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ExpiringBytes } from "./expiring-bytes.js";
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
    expect(kept.stats()).toEqual({ entries: 1, bytes: 80 });
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
