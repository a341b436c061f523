import type { IncomingMessage } from "node:http";
import type { BodyBudget, BodyRefusal } from "@pocket-ai/runtime";
import { Effect } from "effect";
import { RequestRefused } from "./errors.js";

/** The process-wide budget a body's parts are taken from while it arrives, and whose share they count against. */
export interface BodyHold {
  readonly budget: BodyBudget;
  readonly source: string | undefined;
}

/**
 * Reads a request body up to `limit` bytes; a larger one is refused (413) without reading the rest.
 * With `hold`, each part is taken from its budget as it arrives and all are given back once the
 * body is whole or gone: a part that does not fit is refused `503 REQUESTS_BUSY`, the rest unread.
 * A body larger than its network may ever hold at once (declared or sent past the share, an
 * operator's `bodyBudgets` below `maxBodyBytes`) is refused 413 as one larger than `limit` is:
 * waiting would not help, and no client retries a 413.
 */
export function readBody(
  req: IncomingMessage,
  limit: number,
  hold?: BodyHold,
): Effect.Effect<Buffer, RequestRefused> {
  return Effect.async<Buffer, RequestRefused>((resume) => {
    const declared = Number(req.headers["content-length"] ?? "0");
    if (declared > limit) {
      resume(Effect.fail(tooLarge(limit)));
      return;
    }
    if (hold?.budget.refuseDeclared(declared, hold.source) !== undefined) {
      resume(Effect.fail(bodiesBusy(hold, "neverFits")));
      return;
    }
    const parts: Buffer[] = [];
    let size = 0;
    let taken = 0;
    const onData = (part: Buffer) => {
      size += part.length;
      const busy = size > limit ? undefined : hold?.budget.take(part.length, hold.source, size);
      if (size > limit || busy !== undefined) {
        cleanup();
        req.resume();
        resume(Effect.fail(busy === undefined ? tooLarge(limit) : bodiesBusy(hold as BodyHold, busy)));
      } else {
        taken += part.length;
        parts.push(part);
      }
    };
    const onEnd = () => {
      cleanup();
      // A body that came in one part (nearly every JSON request) is read as it is, not copied.
      resume(Effect.succeed(parts.length === 1 ? parts[0]! : Buffer.concat(parts)));
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
      hold?.budget.give(taken, hold.source);
      taken = 0;
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
    code: "REQUEST_TOO_LARGE",
    detail: `the request body is larger than ${limit} bytes (the gateway's maxBodyBytes)`,
    status: 413,
  });

const bodiesBusy = (hold: BodyHold, why: BodyRefusal) =>
  why === "neverFits"
    ? new RequestRefused({
        code: "REQUEST_TOO_LARGE",
        detail: `the request body is larger than ${hold.budget.reach(hold.source)} bytes, the most this gateway receives from one network at once (its bodyBudgets): it is never taken; send a smaller body`,
        status: 413,
      })
    : new RequestRefused({
        code: "REQUESTS_BUSY",
        detail:
          why === "share"
            ? `the gateway is receiving as many request bodies from your network as one network may send at once (${hold.budget.share} bytes): send fewer at a time, or retry once earlier ones are answered`
            : why === "share48"
              ? `the gateway is receiving as many request bodies from the IPv6 /48 your network is in as one /48 may send at once (${hold.budget.share48} bytes): send fewer at a time, or retry once earlier ones are answered`
              : `the gateway is receiving as many request bodies as it holds at once (${hold.budget.limit} bytes in all): retry in a few seconds`,
        retryAfterSeconds: 1,
      });

/** Deepest nesting of arrays and objects a JSON body may have (real requests stay under 10). */
export const MAX_JSON_DEPTH = 64;

class HostileJson extends Error {}

/**
 * Why a parsed JSON value cannot be relayed, or `undefined`: arrays and objects nested deeper than
 * {@link MAX_JSON_DEPTH}, or a number JSON can write but not carry (`1e999` parses to Infinity).
 * Walked with a stack of its own (`JSON.parse` itself nests without limit), visiting containers and
 * numbers only: a long string costs nothing here.
 */
function hostility(value: unknown): string | undefined {
  const values: unknown[] = [value];
  const depths: number[] = [0];
  while (values.length > 0) {
    const v = values.pop();
    const depth = depths.pop()!;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) return "a number is too large to represent";
    } else if (typeof v === "object" && v !== null) {
      if (depth >= MAX_JSON_DEPTH) return `nested deeper than ${MAX_JSON_DEPTH} levels`;
      for (const item of Array.isArray(v) ? v : Object.values(v)) {
        if (typeof item === "object" ? item === null : typeof item !== "number") continue;
        values.push(item);
        depths.push(depth + 1);
      }
    }
  }
  return undefined;
}

/**
 * A JSON body as an unknown value (validated later against the operation's schema). Refused with
 * `INVALID_REQUEST` (400): text that is not JSON, nesting deeper than {@link MAX_JSON_DEPTH}, and
 * numbers JSON can write but not carry (`1e999` parses to Infinity, which no signature covers).
 */
export function parseJsonBody(body: Buffer): Effect.Effect<unknown, RequestRefused> {
  return Effect.try({
    try: () => {
      const value = JSON.parse(body.toString("utf8")) as unknown;
      const hostile = hostility(value);
      if (hostile !== undefined) throw new HostileJson(hostile);
      return value;
    },
    catch: (e) =>
      new RequestRefused({
        code: "INVALID_REQUEST",
        detail: e instanceof HostileJson ? `the body is refused: ${e.message}` : "the body is not valid JSON",
      }),
  });
}

const FILE_FIELDS = new Set(["image", "mask"]);

/**
 * The most parts a multipart image edit may have. An edit has a dozen fields at most; the form
 * parser reads every part synchronously, and a body of many tiny parts (24 MiB holds hundreds of
 * thousands) would hold the event loop, and every other request, for seconds.
 */
export const MAX_FORM_PARTS = 64;

/** The multipart boundary a content type names, or `undefined` (the parser then refuses the body). */
function boundaryOf(contentType: string): string | undefined {
  const match = /;\s*boundary=(?:"([^"]{1,200})"|([^\s;]{1,200}))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

/** Whether `body` has more than `max` boundary delimiters, counted without parsing anything. */
function partsOver(body: Buffer, boundary: string, max: number): boolean {
  const delimiter = Buffer.from(`--${boundary}`, "latin1");
  let count = 0;
  for (let at = body.indexOf(delimiter); at !== -1; at = body.indexOf(delimiter, at + delimiter.length)) {
    // The closing delimiter (`--boundary--`) ends the last part: parts are delimiters less one.
    if (++count > max + 1) return true;
  }
  return false;
}

/**
 * The fields of a `multipart/form-data` image edit, as the OpenAI SDK uploads it: files `image`
 * and `mask` become base64 (not decoded here: that waits until the key is admitted, see
 * `png-upload.ts`), other fields stay strings (the schema converts numbers). Parsed with the Web
 * `Request.formData()` of Node's fetch, over a body already bounded by {@link readBody} and of at
 * most {@link MAX_FORM_PARTS} parts.
 */
export const parseImageEditForm: (
  body: Buffer,
  contentType: string,
) => Effect.Effect<Record<string, unknown>, RequestRefused> = Effect.fnUntraced(
  function* (body, contentType) {
    const boundary = boundaryOf(contentType);
    if (boundary !== undefined && partsOver(body, boundary, MAX_FORM_PARTS)) {
      return yield* new RequestRefused({
        code: "INVALID_REQUEST",
        detail: `the multipart body has more than ${MAX_FORM_PARTS} parts; an image edit sends each field once (image, mask, prompt and the options)`,
      });
    }
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
    // No prototype: a field named `__proto__` is a field like any other, and refused as unknown.
    const fields: Record<string, unknown> = Object.create(null);
    for (const [name, value] of form.entries()) {
      // The SDK sends arrays as `image[]`; one image is all an edit takes.
      const key = name.endsWith("[]") ? name.slice(0, -2) : name;
      if (Object.hasOwn(fields, key)) continue;
      if (typeof value === "string") {
        fields[key] = FILE_FIELDS.has(key) && value === "" ? null : value;
        continue;
      }
      const bytes = yield* Effect.tryPromise({
        try: () => value.arrayBuffer(),
        catch: () =>
          new RequestRefused({
            code: "INVALID_REQUEST",
            detail: `the file ${key} could not be read`,
            param: key,
          }),
      });
      fields[key] = Buffer.from(bytes).toString("base64");
    }
    return fields;
  },
);
