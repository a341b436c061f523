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
  return write(value, "$");
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

function write(value: unknown, path: string): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: non-finite number at ${path}`);
      return JSON.stringify(value);
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) {
        const parts = new Array<string>(value.length);
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (item === undefined) throw new TypeError(`canonicalJson: undefined at ${path}[${i}]`);
          parts[i] = write(item, `${path}[${i}]`);
        }
        return `[${parts.join(",")}]`;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(`canonicalJson: ${path} is not a plain object`);
      }
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      const parts: string[] = [];
      for (const key of keys) {
        const item = record[key];
        if (item === undefined) continue;
        parts.push(`${JSON.stringify(key)}:${write(item, `${path}.${key}`)}`);
      }
      return `{${parts.join(",")}}`;
    }
    default:
      throw new TypeError(`canonicalJson: ${typeof value} at ${path} cannot be encoded`);
  }
}
