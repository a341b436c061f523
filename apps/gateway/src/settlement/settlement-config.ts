import {
  type KeyPair,
  MAX_CLAIM_WINDOW_MS,
  MAX_PROOF_WINDOW_MS,
  type SessionParams,
  WeeklyRate,
} from "@pocket-ai/protocol";
import { Context, Layer } from "effect";
import { z } from "zod";

const HOUR_MS = 3_600_000;
const durationMs = z.number().int().min(60_000);

/**
 * The settlement part of the gateway's config file (the front door embeds it as `settlement:`).
 * - `claimWindowMs`: how long after a session's end plus grace a node may still claim it.
 * - `proofWindowMs`: how long after its claim is stored a node may prove it.
 * The portal operator's name and the gateway's address are not here: they come with the
 * gateway's identity (see {@link SettlementIdentity}).
 */
export const SettlementConfigSchema = z
  .strictObject({
    // At most the protocol's bounds: a node gives up a claim it cannot send once the longest window passed.
    claimWindowMs: durationMs.max(MAX_CLAIM_WINDOW_MS).default(24 * HOUR_MS),
    proofWindowMs: durationMs.max(MAX_PROOF_WINDOW_MS).default(HOUR_MS),
  })
  .prefault({});

/** A parsed {@link SettlementConfigSchema}. */
export type SettlementSettings = z.output<typeof SettlementConfigSchema>;

/** The settlement windows, parsed once when the gateway starts. */
export class SettlementConfig extends Context.Tag("gateway/SettlementConfig")<
  SettlementConfig,
  SettlementSettings
>() {
  /** From the config file's `settlement` section (omitted fields take their defaults). */
  static layer(settings: z.input<typeof SettlementConfigSchema> = {}) {
    return Layer.succeed(SettlementConfig, SettlementConfigSchema.parse(settings));
  }
}

/**
 * Who settles: the gateway's `pokt1…` address (claims and proofs must name it), the portal
 * operator charged for what its relays mint, and the session parameters the gateway derives
 * sessions with (a claim's header must be one of those sessions). Sessions must be time-based:
 * claim windows and weeks are measured in Unix milliseconds (the layer refuses height-based ones).
 */
export interface SettlementIdentityValue {
  readonly address: string;
  /** The gateway's key: it signs the receipts (`ClaimAck`, `ProofAck`) nodes keep. */
  readonly key: KeyPair;
  readonly operator: string;
  readonly session: SessionParams;
}

export class SettlementIdentity extends Context.Tag("gateway/SettlementIdentity")<
  SettlementIdentity,
  SettlementIdentityValue
>() {
  static layer(identity: SettlementIdentityValue) {
    return Layer.succeed(SettlementIdentity, identity);
  }
}

/**
 * The highest POKT rate settlement accepts, in µUSD per POKT ($4294.967295): the week's
 * compute-unit price (see `claim-mint.ts`) must fit the protocol's 32-bit compute units per relay.
 */
export const MAX_RATE_MICRO_USD_PER_POKT = 0xffff_ffff;

/** A week's rate as the admin API takes it. */
export const WeeklyRateInput = WeeklyRate.extend({
  rateMicroUsdPerPokt: WeeklyRate.shape.rateMicroUsdPerPokt.max(MAX_RATE_MICRO_USD_PER_POKT),
});
