/**
 * Canonical JSON: the one byte string a JSON value signs as, whatever order its keys were built
 * in. Object keys are sorted by UTF-16 code unit (as JavaScript's default sort does), there is no
 * white space, strings and numbers are written as `JSON.stringify` writes them, and properties
 * whose value is `undefined` are left out (as `JSON.stringify` does). Values JSON cannot carry
 * faithfully (non-finite numbers, bigints, functions, symbols, `undefined` inside arrays, class
 * instances other than plain objects and arrays) are refused with a `TypeError`, so two parties
 * can never disagree about what was signed; so is a value nested deeper than the stack goes (a
 * hostile one: it is a `TypeError` too, never the engine's stack overflow).
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [true, null, "x"] }); // '{"a":[true,null,"x"],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  try {
    return write(value);
  } catch (error) {
    return refuse(value, error);
  }
}

const encoder = new TextEncoder();

/**
 * The UTF-8 bytes of {@link canonicalJson}.
 *
 * @example
 * ```ts
 * canonicalBytes({ a: 1 }); // Uint8Array [123, 34, 97, 34, 58, 49, 125]
 * ```
 */
export function canonicalBytes(value: unknown): Uint8Array {
  return withCanonicalBytes(value, (bytes) => bytes.slice());
}

/**
 * {@link canonicalJson} of a plain object one of whose entries is already encoded: `encoded` must
 * be `canonicalJson(record[key])`, and is spliced in as is. Lets a caller that needs an entry's
 * encoding on its own (a stream chunk's data, hashed into the chain) encode it only once.
 *
 * @example
 * ```ts
 * const data = { b: 1, a: 2 };
 * canonicalJsonWithEncoded({ seq: 0, data }, "data", canonicalJson(data)); // '{"data":{"a":2,"b":1},"seq":0}'
 * ```
 */
export function canonicalJsonWithEncoded(
  record: Readonly<Record<string, unknown>>,
  key: string,
  encoded: string,
): string {
  try {
    return writeObject(record, key, encoded);
  } catch (error) {
    return refuse(record, error);
  }
}

/**
 * Whether {@link canonicalJson} encodes `value` (rather than throwing): the same checks, made
 * without building the encoding, so a schema can ask before the one encoding that is hashed.
 *
 * @example
 * ```ts
 * isCanonicalJson({ a: [1, "x", null] }); // true
 * isCanonicalJson({ a: Number.NaN }); // false
 * ```
 */
export function isCanonicalJson(value: unknown): boolean {
  try {
    return encodable(value);
  } catch {
    // A value too deep (or cyclic) for the stack: the encoder cannot write it either.
    return false;
  }
}

function encodable(value: unknown): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    case "object": {
      if (value === null) return true;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (item === undefined || !encodable(item)) return false;
        }
        return true;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      const record = value as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        const item = record[key];
        if (item !== undefined && !encodable(item)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/** Canonical JSON of `value`; throws a bare `TypeError` on what it cannot encode. */
function write(value: unknown): string {
  switch (typeof value) {
    case "string":
      return quote(value);
    case "boolean":
      return value ? "true" : "false";
    case "number":
      return numberText(value);
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) {
        let out = "[";
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (item === undefined) throw new TypeError("canonicalJson: undefined in an array");
          if (i > 0) out += ",";
          out += write(item);
        }
        return `${out}]`;
      }
      return writeObject(value, undefined, "");
    }
    default:
      throw new TypeError(`canonicalJson: ${typeof value} cannot be encoded`);
  }
}

function writeObject(value: object, encodedKey: string | undefined, encoded: string): string {
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw new TypeError("canonicalJson: not a plain object");
  const record = value as Record<string, unknown>;
  const keys = sortedKeys(record);
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const item = record[key];
    if (item === undefined) continue;
    if (out.length > 1) out += ",";
    out += quote(key);
    out += ":";
    out += key === encodedKey ? encoded : write(item);
  }
  return `${out}}`;
}

/** The most keys sorted in place by insertion (no work array); more go to `Array.prototype.sort`. */
const INSERTION_SORT_MAX = 16;

/**
 * An object's own enumerable keys in UTF-16 code unit order (as the default sort orders them).
 * Objects have few keys: an insertion sort in place allocates nothing beyond the keys' array.
 */
function sortedKeys(record: object): string[] {
  const keys = Object.keys(record);
  const n = keys.length;
  if (n > INSERTION_SORT_MAX) return keys.sort();
  for (let i = 1; i < n; i++) {
    const key = keys[i] as string;
    let j = i - 1;
    while (j >= 0 && (keys[j] as string) > key) {
      keys[j + 1] = keys[j] as string;
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
}

/** Whether `JSON.stringify` writes the UTF-16 unit `c` as itself in one byte: printable ASCII, no quote or backslash. */
const plainChar = (c: number): boolean => c >= 0x20 && c !== 0x22 && c !== 0x5c && c <= 0x7e;

/** Whether `JSON.stringify` writes `s` as itself in quotes (see {@link plainChar}). */
function plainAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!plainChar(s.charCodeAt(i))) return false;
  return true;
}

/** Strings up to this long are checked and written character by character; longer ones natively. */
const SHORT_STRING = 64;

/** `JSON.stringify(s)`, without its copy for the short plain ASCII strings most of an envelope is. */
const quote = (s: string): string =>
  s.length <= SHORT_STRING && plainAscii(s) ? `"${s}"` : JSON.stringify(s);

/** `JSON.stringify(n)` of a finite number (an integer below 1e21 is its digits); throws on a non-finite one. */
function numberText(n: number): string {
  if (Number.isInteger(n) && n < 1e21 && n > -1e21) return `${n}`;
  if (!Number.isFinite(n)) throw new TypeError("canonicalJson: non-finite number");
  return JSON.stringify(n);
}

/** The scratch buffer's size; one grown past {@link SCRATCH_KEPT} for a large value is dropped after it. */
const SCRATCH_BYTES = 1 << 16;
const SCRATCH_KEPT = 1 << 20;

/**
 * The canonical UTF-8 bytes of a value, written straight into one buffer this module keeps (so
 * signing and verifying an envelope builds no strings): ASCII strings byte by byte, others through
 * `JSON.stringify`. The same bytes as `canonicalJson`'s UTF-8; the property tests hold it to that.
 */
class ByteWriter {
  buf = new Uint8Array(SCRATCH_BYTES);
  pos = 0;

  /** Room for `n` more bytes. */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.pos++] = b;
  }

  /** Characters all below 0x80. */
  ascii(s: string): void {
    this.room(s.length);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < s.length; i++) buf[pos++] = s.charCodeAt(i);
    this.pos = pos;
  }

  string(s: string): void {
    const n = s.length;
    // A long string (a prompt, an answer) is faster through the native writers than byte by byte.
    if (n > SHORT_STRING) {
      this.encoded(JSON.stringify(s));
      return;
    }
    this.room(n + 2);
    const buf = this.buf;
    const start = this.pos;
    let pos = start;
    buf[pos++] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (!plainChar(c)) {
        // Escapes or multi-byte UTF-8: JSON.stringify writes the text, the encoder its bytes.
        this.pos = start;
        this.encoded(JSON.stringify(s));
        return;
      }
      buf[pos++] = c;
    }
    buf[pos++] = 0x22;
    this.pos = pos;
  }

  /**
   * Text already written as JSON, as UTF-8: room for one byte per character first (all a long
   * ASCII text needs), more only as the encoder runs out of it, so a large answer does not ask
   * for three times its size up front.
   */
  encoded(text: string): void {
    let rest = text;
    for (;;) {
      this.room(rest.length + 4);
      const { read, written } = encoder.encodeInto(rest, this.buf.subarray(this.pos));
      this.pos += written;
      if (read >= rest.length) return;
      rest = rest.slice(read);
      // Out of room: the next `room` grows the buffer at least twofold.
      this.room(this.buf.length - this.pos + 1);
    }
  }

  value(value: unknown): void {
    switch (typeof value) {
      case "string":
        this.string(value);
        return;
      case "boolean":
        this.ascii(value ? "true" : "false");
        return;
      case "number":
        this.ascii(numberText(value));
        return;
      case "object": {
        if (value === null) {
          this.ascii("null");
          return;
        }
        if (Array.isArray(value)) {
          this.byte(0x5b);
          for (let i = 0; i < value.length; i++) {
            const item: unknown = value[i];
            if (item === undefined) throw new TypeError("canonicalJson: undefined in an array");
            if (i > 0) this.byte(0x2c);
            this.value(item);
          }
          this.byte(0x5d);
          return;
        }
        const proto: unknown = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null)
          throw new TypeError("canonicalJson: not a plain object");
        const record = value as Record<string, unknown>;
        const keys = sortedKeys(record);
        this.byte(0x7b);
        let first = true;
        for (let i = 0; i < keys.length; i++) {
          const key = keys[i] as string;
          const item = record[key];
          if (item === undefined) continue;
          if (!first) this.byte(0x2c);
          first = false;
          this.string(key);
          this.byte(0x3a);
          this.value(item);
        }
        this.byte(0x7d);
        return;
      }
      default:
        throw new TypeError(`canonicalJson: ${typeof value} cannot be encoded`);
    }
  }
}

let scratch: ByteWriter | undefined;

/**
 * Calls `use` with the canonical UTF-8 bytes of `value` (see {@link canonicalJson}), which are valid
 * only during the call: they live in a buffer the next encoding reuses. Refuses what
 * `canonicalJson` refuses, with its message. Internal to the package (the hashes use it).
 */
export function withCanonicalBytes<T>(value: unknown, use: (bytes: Uint8Array) => T): T {
  return inScratch(undefined, value, use) as T;
}

/**
 * Calls `use` with 32 bytes (`prefixHex`, 64 hex digits) followed by the canonical UTF-8 bytes of
 * `value`, written into the same buffer as {@link withCanonicalBytes} (valid only during the
 * call): a stream chunk's chain step hashes them without building the encoding as a string.
 * Returns `undefined`, calling nothing, when `prefixHex` is not 64 hex digits; refuses what
 * `canonicalJson` refuses. Internal to the package.
 */
export function withPrefixedCanonicalBytes<T>(
  prefixHex: string,
  value: unknown,
  use: (bytes: Uint8Array) => T,
): T | undefined {
  return prefixHex.length === 64 ? inScratch(prefixHex, value, use) : undefined;
}

/** The value of one hex digit (either case), or -1. */
function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/**
 * `use` of the scratch buffer holding the bytes `prefixHex` spells (64 hex digits; none when
 * undefined), then `value`'s canonical bytes; `undefined` when the prefix is not hex.
 */
function inScratch<T>(
  prefixHex: string | undefined,
  value: unknown,
  use: (bytes: Uint8Array) => T,
): T | undefined {
  // A getter that encodes while this one runs gets a writer of its own.
  const writer = scratch ?? new ByteWriter();
  scratch = undefined;
  try {
    writer.pos = 0;
    if (prefixHex !== undefined) {
      const buf = writer.buf;
      for (let i = 0; i < prefixHex.length / 2; i++) {
        const hi = hexDigit(prefixHex.charCodeAt(2 * i));
        const lo = hexDigit(prefixHex.charCodeAt(2 * i + 1));
        if (hi < 0 || lo < 0) return undefined;
        buf[i] = (hi << 4) | lo;
      }
      writer.pos = prefixHex.length / 2;
    }
    try {
      writer.value(value);
    } catch (error) {
      refuse(value, error);
    }
    return use(writer.buf.subarray(0, writer.pos));
  } finally {
    if (writer.buf.length > SCRATCH_KEPT) writer.buf = new Uint8Array(SCRATCH_BYTES);
    scratch = writer;
  }
}

/**
 * Throws the `TypeError` for a value a writer refused with `error`: the one that names where and
 * why, or, for a value nested deeper than the stack goes (or a text longer than a string can be),
 * one that says so, never the engine's `RangeError`: hostile input is refused the way every
 * other value that cannot be encoded is.
 */
function refuse(value: unknown, error: unknown): never {
  if (error instanceof RangeError)
    throw new TypeError("canonicalJson: nested too deep or too large to encode");
  try {
    // The fast writer keeps no paths; the checked one says where the value went wrong.
    describeRefusal(value, "$");
  } catch (described) {
    if (!(described instanceof RangeError)) throw described;
  }
  throw error;
}

/** Walks a value the fast writer refused and throws the `TypeError` that names where and why. */
function describeRefusal(value: unknown, path: string): void {
  switch (typeof value) {
    case "string":
    case "boolean":
      return;
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: non-finite number at ${path}`);
      return;
    case "object": {
      if (value === null) return;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (item === undefined) throw new TypeError(`canonicalJson: undefined at ${path}[${i}]`);
          describeRefusal(item, `${path}[${i}]`);
        }
        return;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(`canonicalJson: ${path} is not a plain object`);
      }
      const record = value as Record<string, unknown>;
      for (const key of Object.keys(record).sort()) {
        const item = record[key];
        if (item !== undefined) describeRefusal(item, `${path}.${key}`);
      }
      return;
    }
    default:
      throw new TypeError(`canonicalJson: ${typeof value} at ${path} cannot be encoded`);
  }
}
