import type { Catalog, KeyPair } from "@pocket-ai/protocol";
import { Context, Layer } from "effect";

/** The gateway's secp256k1 key pair: it signs every relay request and is the address nodes serve. */
export class GatewayKey extends Context.Tag("gateway/GatewayKey")<GatewayKey, KeyPair>() {
  static layer(key: KeyPair) {
    return Layer.succeed(GatewayKey, key);
  }
}

/** The service catalog the gateway sells (default catalog merged with the operator's overrides). */
export class GatewayCatalog extends Context.Tag("gateway/GatewayCatalog")<GatewayCatalog, Catalog>() {
  static layer(catalog: Catalog) {
    return Layer.succeed(GatewayCatalog, catalog);
  }
}
