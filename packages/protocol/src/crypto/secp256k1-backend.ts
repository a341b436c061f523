/**
 * The secp256k1 implementation behind every key, signature and verification in the package:
 * libsecp256k1 through the `secp256k1` package's prebuilt native binding where it loads (Node on
 * the platforms it ships binaries for), else the same library compiled to WebAssembly
 * (`tiny-secp256k1`). Both sign with RFC 6979 nonces and normalise to low-S, so they give the same
 * signature bytes for the same digest and key; verification accepts low-S signatures only in both.
 * `POCKET_SECP256K1=wasm` in the environment forces the WebAssembly one.
 */
import * as wasm from "tiny-secp256k1";
import { environmentVariable, nodeModule } from "../encoding/node-builtins.js";

/** One implementation of the operations the package uses. All inputs are checked by the callers. */
export interface Secp256k1Backend {
  /** `"native"` (libsecp256k1 binding) or `"wasm"` (tiny-secp256k1). */
  readonly name: "native" | "wasm";
  /** Whether 32 bytes are a valid private key (non-zero, below the group order). */
  isPrivate(privateKey: Uint8Array): boolean;
  /** The public point of a valid private key, compressed (33 bytes) or not (65); null if invalid. */
  publicKey(privateKey: Uint8Array, compressed: boolean): Uint8Array | null;
  /** The 65-byte uncompressed form of a 33-byte compressed key; null when it is not on the curve. */
  decompress(publicKey: Uint8Array): Uint8Array | null;
  /** Compact (r ‖ s), low-S, RFC 6979 signature of a 32-byte digest; throws on an invalid key. */
  sign(digest: Uint8Array, privateKey: Uint8Array): Uint8Array;
  /**
   * Whether a compact low-S signature of `digest` verifies for a 33- or 65-byte public key; false
   * (never a throw) for malformed keys or signatures.
   */
  verify(digest: Uint8Array, publicKey: Uint8Array, signature: Uint8Array): boolean;
}

/** tiny-secp256k1: libsecp256k1 compiled to WebAssembly. Always available. */
export const wasmBackend: Secp256k1Backend = {
  name: "wasm",
  isPrivate: (privateKey) => wasm.isPrivate(privateKey),
  publicKey: (privateKey, compressed) => {
    try {
      return wasm.pointFromScalar(privateKey, compressed);
    } catch {
      return null;
    }
  },
  decompress: (publicKey) => (wasm.isPoint(publicKey) ? wasm.pointCompress(publicKey, false) : null),
  sign: (digest, privateKey) => wasm.sign(digest, privateKey),
  verify: (digest, publicKey, signature) => {
    try {
      return wasm.verify(digest, publicKey, signature, true);
    } catch {
      return false;
    }
  },
};

/** The part of the `secp256k1` package's API used here (its `bindings` entry: native only). */
interface NativeSecp256k1 {
  privateKeyVerify(privateKey: Uint8Array): boolean;
  publicKeyCreate(privateKey: Uint8Array, compressed: boolean): Uint8Array;
  publicKeyConvert(publicKey: Uint8Array, compressed: boolean): Uint8Array;
  ecdsaSign(digest: Uint8Array, privateKey: Uint8Array): { signature: Uint8Array };
  ecdsaVerify(signature: Uint8Array, digest: Uint8Array, publicKey: Uint8Array): boolean;
}

/**
 * The native binding wrapped as a {@link Secp256k1Backend}, or null where it cannot load (no
 * `node:module`, no prebuilt binary for this platform, the package absent) or where it does not
 * sign exactly as the WebAssembly library does on a fixed vector.
 */
export function loadNativeBackend(): Secp256k1Backend | null {
  let native: NativeSecp256k1;
  try {
    if (nodeModule === undefined) return null;
    // `secp256k1/bindings` is the native entry; its main entry would fall back to pure JavaScript.
    native = nodeModule.createRequire(import.meta.url)("secp256k1/bindings") as NativeSecp256k1;
  } catch {
    return null;
  }
  const backend: Secp256k1Backend = {
    name: "native",
    isPrivate: (privateKey) => privateKey.length === 32 && native.privateKeyVerify(privateKey),
    publicKey: (privateKey, compressed) => {
      try {
        return native.publicKeyCreate(privateKey, compressed);
      } catch {
        return null;
      }
    },
    decompress: (publicKey) => {
      try {
        return native.publicKeyConvert(publicKey, false);
      } catch {
        return null;
      }
    },
    sign: (digest, privateKey) => native.ecdsaSign(digest, privateKey).signature,
    verify: (digest, publicKey, signature) => {
      try {
        return native.ecdsaVerify(signature, digest, publicKey);
      } catch {
        return false;
      }
    },
  };
  return agreesWithWasm(backend) ? backend : null;
}

/** Signs and verifies one fixed vector with both implementations; false on any difference. */
function agreesWithWasm(backend: Secp256k1Backend): boolean {
  try {
    const privateKey = new Uint8Array(32).fill(7);
    const digest = new Uint8Array(32).fill(42);
    const a = backend.sign(digest, privateKey);
    const b = wasmBackend.sign(digest, privateKey);
    const publicKey = wasmBackend.publicKey(privateKey, true);
    return (
      publicKey !== null &&
      a.length === 64 &&
      a.every((byte, i) => byte === b[i]) &&
      backend.verify(digest, publicKey, b) &&
      !backend.verify(new Uint8Array(32).fill(43), publicKey, b)
    );
  } catch {
    return false;
  }
}

/** The implementation in use: native where it loads, unless `POCKET_SECP256K1=wasm`. */
export const secp256k1: Secp256k1Backend =
  (environmentVariable("POCKET_SECP256K1") === "wasm" ? null : loadNativeBackend()) ?? wasmBackend;

/**
 * Which secp256k1 implementation this process uses: `"native"` (libsecp256k1's prebuilt Node
 * binding, from the `secp256k1` package) or `"wasm"` (tiny-secp256k1, the fallback). Both give
 * byte-identical signatures; the native one is several times faster.
 *
 * @example
 * ```ts
 * secp256k1Implementation(); // "native" on Linux, macOS and Windows x64 under Node
 * ```
 */
export function secp256k1Implementation(): "native" | "wasm" {
  return secp256k1.name;
}
