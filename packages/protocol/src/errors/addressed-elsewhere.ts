import { protocolError, type Result } from "./protocol-error.js";

/**
 * ADDRESS_MISMATCH for a validly signed message made out to another party than the one checking
 * it. The code's own guidance is about keys (an address not derived from its public key), which
 * would send the sender looking for a key problem; `guidance` says where the message belongs.
 */
export function addressedElsewhere<T = never>(detail: string, param: string, guidance: string): Result<T> {
  return { ok: false, error: { ...protocolError("ADDRESS_MISMATCH", detail, param), message: guidance } };
}
