import { createHash, randomBytes } from "node:crypto";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { KEPT_ENTRY_OVERHEAD_BYTES } from "../expiring-bytes.js";
import type { FrontDoorDeps } from "../relay-call.js";
import { responsesSurface } from "./responses-surface.js";
import { MAX_SEALED_TEXT_BYTES, MessageItemSeal } from "./sealed-items.js";
import { STREAMED_ITEM_ID_CHARS, StreamedItemStore } from "./streamed-items.js";

const REPLICA = "0123456789abcdef";
const gatewayKey = randomBytes(32);
const storeAt = (clock: { now: number }, maxBytes = 1 << 20) =>
  new StreamedItemStore({ ttlMs: 60_000, maxBytes }, REPLICA, gatewayKey, () => clock.now);

/** The id's key K, as the client holds it. */
/** What an item of 60 bytes of text counts: 12-byte IV + 60 bytes + 16-byte tag, and its overhead. */
const ITEM_OF_60 = 88 + KEPT_ENTRY_OVERHEAD_BYTES;

const keyOf = (id: string) => Buffer.from(id.slice(-64), "base64url").subarray(0, 32);

/** Kept, then read back as a reference would be. */
function keepAndRead(store: StreamedItemStore, text: string, app = "app1") {
  const item = store.announce(app);
  item.keep(text);
  return item.id;
}
const read = (store: StreamedItemStore, id: string, app = "app1") => {
  const ref = store.parse(id, app);
  if (ref === undefined) return "invalid";
  const kept = store.ciphertext(ref.hash);
  if (kept === undefined) return "gone";
  return store.open(ref, kept.bytes, app) ?? "invalid";
};

describe("StreamedItemStore", () => {
  it("an id names its replica and opens to its text once kept; for its time only (injected clock)", () => {
    const clock = { now: 1_000 };
    const store = storeAt(clock);
    const item = store.announce("app1");
    expect(item.id).toMatch(/^msg_pk20123456789abcdef-[A-Za-z0-9_-]{64}$/);
    expect(item.id).toHaveLength(STREAMED_ITEM_ID_CHARS);
    expect(store.parse(item.id, "app1")?.holder).toBe(REPLICA);
    // Announced, not yet kept: nothing is there until the stream completes.
    expect(read(store, item.id)).toBe("gone");
    item.keep("Blue, like the sea.");
    expect(read(store, item.id)).toBe("Blue, like the sea.");
    const ref = store.parse(item.id, "app1")!;
    clock.now += 59_999;
    expect(store.ciphertext(ref.hash)?.secondsLeft).toBe(1);
    clock.now += 1;
    expect(read(store, item.id)).toBe("gone");
    expect(store.stats()).toEqual({ items: 0, bytes: 0 });
  });

  it("never holds more than its byte bound: the oldest items go first", () => {
    // Room for two items of 60 bytes of text, not three.
    const store = storeAt({ now: 0 }, 3 * ITEM_OF_60 - 1);
    const ids = [0, 1, 2].map((i) => keepAndRead(store, String(i).repeat(60)));
    expect(read(store, ids[0]!)).toBe("gone");
    expect(read(store, ids[1]!)).toBe("1".repeat(60));
    expect(read(store, ids[2]!)).toBe("2".repeat(60));
    expect(store.stats()).toEqual({ items: 2, bytes: 2 * ITEM_OF_60 });
    // One larger than the whole bound is not kept (and pushes nothing out).
    const huge = keepAndRead(store, "x".repeat(3 * ITEM_OF_60));
    expect(read(store, huge)).toBe("gone");
    expect(store.stats().items).toBe(2);
  });

  it("one application's items cannot push out another's: past its share, its own oldest go first", () => {
    const clock = { now: 0 };
    // The store holds 5 items of 60 bytes of text, an application 2.
    const store = new StreamedItemStore(
      { ttlMs: 60_000, maxBytes: 5 * ITEM_OF_60, maxBytesPerOwner: 2 * ITEM_OF_60 },
      REPLICA,
      gatewayKey,
      () => clock.now,
    );
    const victim = keepAndRead(store, "v".repeat(60), "victim");
    const flood = Array.from({ length: 50 }, (_, i) =>
      keepAndRead(store, String(i % 10).repeat(60), "flooder"),
    );
    expect(read(store, victim, "victim")).toBe("v".repeat(60));
    // The flooder keeps its two newest; its older ones went.
    expect(read(store, flood[49]!, "flooder")).toBe("9".repeat(60));
    expect(read(store, flood[48]!, "flooder")).toBe("8".repeat(60));
    expect(read(store, flood[47]!, "flooder")).toBe("gone");
    expect(store.stats()).toEqual({ items: 3, bytes: 3 * ITEM_OF_60 });
    // The whole bound still holds across applications: the oldest overall go first.
    const others = ["a", "b", "c"].map((app) => keepAndRead(store, app.repeat(60), app));
    expect(store.stats()).toEqual({ items: 5, bytes: 5 * ITEM_OF_60 });
    expect(read(store, victim, "victim")).toBe("gone");
    expect(read(store, others[2]!, "c")).toBe("c".repeat(60));
    // An item larger than an application's share is not kept, and pushes nothing out.
    const huge = keepAndRead(store, "x".repeat(2 * ITEM_OF_60), "a");
    expect(read(store, huge, "a")).toBe("gone");
    expect(store.stats().items).toBe(5);
  });

  it("another application, another gateway key, or any changed character: refused before any lookup", () => {
    const store = storeAt({ now: 0 });
    const id = keepAndRead(store, "secret answer");
    expect(store.parse(id, "app2")).toBeUndefined();
    expect(read(store, id, "app2")).toBe("invalid");
    const otherGateway = new StreamedItemStore(
      { ttlMs: 60_000, maxBytes: 1 << 20 },
      REPLICA,
      randomBytes(32),
    );
    expect(otherGateway.parse(id, "app1")).toBeUndefined();
    for (let i = "msg_pk2".length; i < id.length; i++) {
      if (id[i] === "-") continue;
      const swap =
        /[0-9a-f]/.test(id[i]!) && i < 23 ? (id[i] === "a" ? "b" : "a") : id[i] === "A" ? "B" : "A";
      const changed = `${id.slice(0, i)}${swap}${id.slice(i + 1)}`;
      expect(store.parse(changed, "app1"), `character ${i}`).toBeUndefined();
    }
    for (const bad of [
      "",
      "msg_pk2",
      `${id}A`,
      id.slice(0, -1),
      id.toUpperCase(),
      id.replace("msg_pk2", "msg_pk1"),
      id.replace("-", "_"),
      `${id.slice(0, 23)}-${"=".repeat(64)}`,
      `${id}\n`,
      `msg_pk2${"0".repeat(16)}-${"A".repeat(10_000)}`,
    ]) {
      expect(store.parse(bad, "app1"), bad.slice(0, 40)).toBeUndefined();
    }
    expect(store.ciphertext("../../health")).toBeUndefined();
  });

  it("memory holds neither the text nor the key: only sha256(K) and the ciphertext; the key is forgotten once kept", () => {
    const store = storeAt({ now: 0 });
    const text = "the private answer 12345";
    const item = store.announce("app1");
    item.keep(text);
    // Kept once: a second keep (the key is gone) changes nothing.
    const before = store.held().values[0]!;
    item.keep("something else");
    const held = store.held();
    expect(held.values).toHaveLength(1);
    expect(held.values[0]!.equals(before)).toBe(true);
    const key = keyOf(item.id);
    expect(held.names).toEqual([createHash("sha256").update(key).digest("hex")]);
    const dump = Buffer.concat([...held.values, Buffer.from(held.names.join(""), "utf8")]);
    expect(dump.includes(Buffer.from(text, "utf8"))).toBe(false);
    expect(dump.includes(key)).toBe(false);
    expect(dump.includes(Buffer.from(key.toString("hex"), "utf8"))).toBe(false);
    expect(read(store, item.id)).toBe(text);
    // A discarded item keeps nothing, then or later.
    const dropped = store.announce("app1");
    dropped.discard();
    dropped.keep("too late");
    expect(read(store, dropped.id)).toBe("gone");
    expect(store.stats().items).toBe(1);
  });
});

describe("the /v1/responses surface with its item stores", () => {
  const deps = {
    responseItems: new MessageItemSeal(gatewayKey),
    streamedItems: new StreamedItemStore({ ttlMs: 60_000, maxBytes: 1 << 20 }, REPLICA, gatewayKey),
    maxBodyBytes: { json: 4 * 1024 * 1024, multipart: 24 * 1024 * 1024 },
  } as unknown as FrontDoorDeps;
  const surface = responsesSurface(deps);
  const caller = { applicationId: "app1" };
  const translate = (raw: unknown) => Effect.runPromise(surface.translate(raw, caller, "req-1"));
  const answerId = async (text: string, store?: boolean) => {
    const translated = await translate({
      model: "m",
      input: "hi",
      ...(store === undefined ? {} : { store }),
    });
    if (!translated.ok) throw new Error(translated.error.message);
    const body = translated.value.presenter("m:standard", 1).unary({
      choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
    });
    return (body as { output: { id: string }[] }).output[0]!.id;
  };
  const referred = async (id: string) => {
    const translated = await translate({
      model: "m",
      input: [
        { role: "user", content: "hi" },
        { type: "item_reference", id },
      ],
    });
    return translated.ok
      ? (translated.value.body as { messages: unknown[] }).messages[1]
      : translated.error.code;
  };

  it("a unary text over the sealing bound is kept the streamed way, and read back by reference", async () => {
    const short = await answerId("Blue.");
    expect(short.startsWith("msg_pk1")).toBe(true);
    expect(await referred(short)).toEqual({ role: "assistant", content: "Blue." });
    const long = "word ".repeat(Math.ceil(MAX_SEALED_TEXT_BYTES / 5) + 1);
    const kept = await answerId(long);
    expect(kept).toMatch(/^msg_pk20123456789abcdef-/);
    expect(await referred(kept)).toEqual({ role: "assistant", content: long });
    // store: false keeps nothing: a plain id, which refers to nothing.
    const unkept = await answerId(long, false);
    expect(unkept).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(await referred(unkept)).toBe("RESPONSE_NOT_STORED");
  });
});
