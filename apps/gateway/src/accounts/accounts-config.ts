import { Context, Layer, Redacted } from "effect";

export interface AccountsSettings {
  /**
   * Secret bytes the application addresses are derived from (see `application-address.ts`).
   * The gateway's own private key is a fine source: it is domain-separated before use.
   */
  readonly applicationSeed: Redacted.Redacted<Uint8Array>;
  /** How long an authenticated key is trusted from memory before the database is asked again. */
  readonly keyCacheTtlMs: number;
  readonly keyCacheMaxEntries: number;
}

export class AccountsConfig extends Context.Tag("gateway/AccountsConfig")<
  AccountsConfig,
  AccountsSettings
>() {
  static layer(settings: {
    readonly applicationSeed: Uint8Array;
    readonly keyCacheTtlMs?: number;
    readonly keyCacheMaxEntries?: number;
  }) {
    return Layer.succeed(AccountsConfig, {
      applicationSeed: Redacted.make(settings.applicationSeed),
      keyCacheTtlMs: settings.keyCacheTtlMs ?? 30_000,
      keyCacheMaxEntries: settings.keyCacheMaxEntries ?? 10_000,
    });
  }

  /** A fixed, well-known seed: for tests only. */
  static layerTest = AccountsConfig.layer({ applicationSeed: new Uint8Array(32).fill(7) });
}
