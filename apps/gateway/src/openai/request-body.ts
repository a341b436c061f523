import type { IncomingMessage } from "node:http";
import { PngError } from "@pocket-ai/png";
import { Effect } from "effect";
import { normaliseEditMask } from "./edit-mask.js";
import { RequestRefused } from "./errors.js";

/** Reads a request body up to `limit` bytes; a larger one is refused (413) without reading the rest. */
export function readBody(req: IncomingMessage, limit: number): Effect.Effect<Buffer, RequestRefused> {
  return Effect.async<Buffer, RequestRefused>((resume) => {
    const declared = Number(req.headers["content-length"] ?? "0");
    if (declared > limit) {
      resume(Effect.fail(tooLarge(limit)));
      return;
    }
    const parts: Buffer[] = [];
    let size = 0;
    const onData = (part: Buffer) => {
      size += part.length;
      if (size > limit) {
        cleanup();
        req.resume();
        resume(Effect.fail(tooLarge(limit)));
      } else parts.push(part);
    };
    const onEnd = () => {
      cleanup();
      resume(Effect.succeed(Buffer.concat(parts)));
    };
    const onError = () => {
      cleanup();
      resume(
        Effect.fail(
          new RequestRefused({ code: "INVALID_REQUEST", detail: "the request body could not be read" }),
        ),
      );
    };
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    return Effect.sync(cleanup);
  });
}

const tooLarge = (limit: number) =>
  new RequestRefused({
    code: "INVALID_REQUEST",
    detail: `the request body is larger than ${limit} bytes`,
    status: 413,
  });

/** A JSON body as an unknown value (validated later against the operation's schema). */
export function parseJsonBody(body: Buffer): Effect.Effect<unknown, RequestRefused> {
  return Effect.try({
    try: () => JSON.parse(body.toString("utf8")) as unknown,
    catch: () => new RequestRefused({ code: "INVALID_REQUEST", detail: "the body is not valid JSON" }),
  });
}

const FILE_FIELDS = new Set(["image", "mask"]);

/**
 * The fields of a `multipart/form-data` image edit, as the OpenAI SDK uploads it: files `image`
 * and `mask` become base64 PNG (the mask normalised to the opaque white-repaints convention, see
 * `edit-mask.ts`), other fields stay strings (the schema converts numbers). Parsed with the Web
 * `Request.formData()` of Node's fetch, over a body already bounded by {@link readBody}.
 */
export function parseImageEditForm(
  body: Buffer,
  contentType: string,
): Effect.Effect<Record<string, unknown>, RequestRefused> {
  return Effect.gen(function* () {
    const form = yield* Effect.tryPromise({
      try: () =>
        new Request("http://gateway.local/", {
          method: "POST",
          headers: { "content-type": contentType },
          body,
        }).formData(),
      catch: () =>
        new RequestRefused({ code: "INVALID_REQUEST", detail: "the multipart body could not be parsed" }),
    });
    const fields: Record<string, unknown> = {};
    for (const [name, value] of form.entries()) {
      // The SDK sends arrays as `image[]`; one image is all an edit takes.
      const key = name.endsWith("[]") ? name.slice(0, -2) : name;
      if (key in fields) continue;
      if (typeof value === "string") {
        fields[key] = FILE_FIELDS.has(key) && value === "" ? null : value;
        continue;
      }
      const bytes = new Uint8Array(yield* Effect.promise(() => value.arrayBuffer()));
      fields[key] = key === "mask" ? yield* opaqueMask(bytes) : Buffer.from(bytes).toString("base64");
    }
    return fields;
  });
}

function opaqueMask(bytes: Uint8Array): Effect.Effect<string, RequestRefused> {
  return Effect.try({
    try: () => normaliseEditMask(bytes).toString("base64"),
    catch: (e) =>
      new RequestRefused({
        code: "INVALID_REQUEST",
        detail: e instanceof PngError ? `mask: ${e.message}` : "mask: unreadable PNG",
        param: "mask",
      }),
  });
}
