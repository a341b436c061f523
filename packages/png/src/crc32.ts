import { crc32 as nativeCrc32 } from "node:zlib";

/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) as PNG chunks require, through zlib's
 * native implementation (an image answer's megabytes are checked on the event loop). `initial`
 * is the CRC of the bytes before, to continue it.
 */
export function crc32(bytes: Uint8Array, initial = 0): number {
  return nativeCrc32(bytes, initial);
}
