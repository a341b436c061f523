/**
 * Canonical JSON: the one byte string a JSON value signs as, whatever order its keys were built
 * in. Object keys are sorted by UTF-16 code unit (as JavaScript's default sort does), there is no
 * white space, strings and numbers are written as `JSON.stringify` writes them, and properties
 * whose value is `undefined` are left out (as `JSON.stringify` does). Values JSON cannot carry
 * faithfully (non-finite numbers, bigints, functions, symbols, `undefined` inside arrays, class
 * instances other than plain objects and arrays) are refused with a `TypeError`, so two parties
 * can never disagree about what was signed.
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
    // The fast writer keeps no paths; the checked one says where the value went wrong.
    describeRefusal(value, "$");
    throw error;
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
  return encoder.encode(canonicalJson(value));
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
    describeRefusal(record, "$");
    throw error;
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
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) throw new TypeError("canonicalJson: non-finite number");
      return JSON.stringify(value);
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) {
        let out = "[";
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (item === undefined) throw new TypeError("canonicalJson: undefined in an array");
          out += i === 0 ? write(item) : `,${write(item)}`;
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
  const keys = Object.keys(record).sort();
  let out = "{";
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue;
    if (out.length > 1) out += ",";
    out += `${JSON.stringify(key)}:${key === encodedKey ? encoded : write(item)}`;
  }
  return `${out}}`;
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
