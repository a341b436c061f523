/**
 * Byte encoding for the tokenizer's byte fallback. It is UTF-8 extended to lone surrogates
 * (the "WTF-8" scheme): a JavaScript string may hold an unpaired surrogate, and plain UTF-8
 * would replace it with U+FFFD, breaking `decode(encode(s)) === s` for such strings.
 */

const REPLACEMENT = 0xfffd;

/** Encodes every UTF-16 code unit sequence of `text`, keeping unpaired surrogates. */
export function wtf8Encode(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else
      out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  }
  return Uint8Array.from(out);
}

/** Length of the sequence a lead byte announces, or 0 when the byte cannot start one. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

export interface Wtf8Decoded {
  readonly text: string;
  /** Trailing bytes that begin a valid but unfinished sequence (only when `stream` is set). */
  readonly pending: number;
}

/**
 * Decodes bytes back to a string. Malformed bytes become U+FFFD one byte at a time; with
 * `stream`, an unfinished sequence at the end is left pending instead, so a caller that
 * receives bytes token by token never emits a replacement character for a split character.
 */
export function wtf8Decode(bytes: Uint8Array, options: { readonly stream?: boolean } = {}): Wtf8Decoded {
  const units: number[] = [];
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i]!;
    const length = sequenceLength(lead);
    if (length === 1) {
      units.push(lead);
      i++;
      continue;
    }
    if (length === 0) {
      units.push(REPLACEMENT);
      i++;
      continue;
    }
    let cp = lead & (0xff >> (length + 1));
    let valid = 0;
    for (let k = 1; k < length && i + k < bytes.length; k++) {
      const b = bytes[i + k]!;
      if ((b & 0xc0) !== 0x80) break;
      cp = (cp << 6) | (b & 0x3f);
      valid++;
    }
    if (valid === length - 1) {
      const overlong = (length === 3 && cp < 0x800) || (length === 4 && cp < 0x10000) || cp > 0x10ffff;
      if (overlong) {
        units.push(REPLACEMENT);
        i++;
        continue;
      }
      if (cp >= 0x10000) {
        const v = cp - 0x10000;
        units.push(0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff));
      } else units.push(cp);
      i += length;
      continue;
    }
    if (options.stream === true && i + valid + 1 === bytes.length) {
      return { text: unitsToString(units), pending: bytes.length - i };
    }
    units.push(REPLACEMENT);
    i++;
  }
  return { text: unitsToString(units), pending: 0 };
}

function unitsToString(units: readonly number[]): string {
  let text = "";
  for (let i = 0; i < units.length; i += 8192) text += String.fromCharCode(...units.slice(i, i + 8192));
  return text;
}
