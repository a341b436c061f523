import { randomBytes } from "node:crypto";
import { ExpiringBytes, type ExpiringBytesOptions } from "./expiring-bytes.js";

/** How long generated images stay fetchable, and the most bytes kept at once. */
export type ImageUrlOptions = ExpiringBytesOptions;

/** The path images are served under: `/v1/images/content/<id>.png`. */
export const IMAGE_CONTENT_PATH = "/v1/images/content/";

/**
 * An image id: the id of the replica that holds the bytes (16 hex), `-`, and 32 random bytes
 * (64 hex). Nothing else is an image id: no other character can reach a peer's URL.
 */
const IMAGE_ID = /^([0-9a-f]{16})-[0-9a-f]{64}$/;

/** The id in a `/v1/images/content/…` path's last part and the replica holding it; else `undefined`. */
export function imageIdOf(name: string): { readonly id: string; readonly holder: string } | undefined {
  if (!name.endsWith(".png")) return undefined;
  const id = name.slice(0, -4);
  const holder = IMAGE_ID.exec(id)?.[1];
  return holder === undefined ? undefined : { id, holder };
}

/**
 * Generated images kept for `response_format: "url"`, in memory and bounded
 * ({@link ExpiringBytes}): each for `ttlMs`, at most `maxBytes` in all (the oldest go first when a
 * new one needs room). Ids are this replica's id and 32 random bytes (unguessable: the URL is the
 * only credential, as with OpenAI's image URLs); the bytes live in this process only (other
 * replicas fetch them from it, see `image-content.ts`) and are gone after their time, or when the
 * process stops. Nothing else about the request is kept.
 */
export class ImageUrlStore {
  private readonly images: ExpiringBytes;

  constructor(
    options: ImageUrlOptions,
    /** This replica's id, the first part of every id it makes. */
    readonly replicaId: string,
    now: () => number = Date.now,
  ) {
    this.images = new ExpiringBytes(options, now);
  }

  /** The most memory kept at once, overhead included (also the cap on a peer's answer). */
  get maxBytes(): number {
    return this.images.maxBytes;
  }

  /** How long an image stays fetchable, in seconds. */
  get ttlSeconds(): number {
    return this.images.ttlSeconds;
  }

  /** Keeps one image's bytes; returns its id. */
  put(bytes: Buffer): string {
    const id = `${this.replicaId}-${randomBytes(32).toString("hex")}`;
    this.images.put(id, bytes);
    return id;
  }

  /** The image's bytes and seconds left, or `undefined` once it expired (or never existed). */
  get(id: string): { readonly bytes: Buffer; readonly secondsLeft: number } | undefined {
    return this.images.get(id);
  }

  stats(): { readonly images: number; readonly bytes: number } {
    const { entries, bytes } = this.images.stats();
    return { images: entries, bytes };
  }
}

/**
 * Image answers with `url` instead of `b64_json` (OpenAI's `response_format: "url"`): each image's
 * bytes go to the store and the answer names them by URL under `baseUrl`.
 */
export function imageUrlPresenter(store: ImageUrlStore, baseUrl: string) {
  const base = baseUrl.replace(/\/+$/, "");
  return {
    unary(payload: Record<string, unknown>): unknown {
      if (!Array.isArray(payload.data)) return payload;
      const data = payload.data.map((item: Record<string, unknown>) => {
        const { b64_json: b64, ...rest } = item;
        if (typeof b64 !== "string") return item;
        const id = store.put(Buffer.from(b64, "base64"));
        return { ...rest, url: `${base}${IMAGE_CONTENT_PATH}${id}.png` };
      });
      return { ...payload, data };
    },
    open: () => "",
    chunk: () => "",
    close: () => "",
    fail: () => "",
  };
}
