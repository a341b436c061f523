import { isLoopbackAddress } from "@pocket-ai/runtime";
import { z } from "zod";
import { formatUsd, parseUsd } from "../settlement/usd-amount.js";
import { addressBlockProblem } from "./client-network.js";

const perWindow = z.number().int().min(0).max(1_000_000);
/**
 * The budget cap of a self-serve key when the operator sets none: a trial's worth (about a
 * thousand small chat calls at the default catalog's prices), raised in the config once sign-up
 * is paid for or known. Ten keys to an account make $10 an account.
 */
export const DEFAULT_MAX_KEY_BUDGET_USD = "1";
/**
 * The key budget self-serve accounts together may be granted in a rolling day when the operator
 * sets none: fifty trial keys' worth. Whatever the number of sign-ups, open sign-up then costs the
 * operator at most this much new budget a day.
 */
export const DEFAULT_SELF_SERVE_USD_PER_DAY = "50";

/**
 * A dollar amount, kept as its text: money is parsed into micro-USD with `parseUsd`, never a float.
 * A number is taken as the text it prints as, because an environment override is read as JSON
 * (`POCKET_GATEWAY__PORTAL__KEYS__SELF_SERVE_USD_PER_DAY=20` is the number 20).
 */
const usd = z
  .union([z.string(), z.number().transform(String)])
  .pipe(z.string().regex(/^\$?(0|[1-9][0-9]{0,8})(\.[0-9]{1,6})?$/, "a dollar amount like 5 or 0.50"));

/**
 * The web portal at `/portal/`: self-serve sign-up, keys and usage for applications, and the
 * operator's console. Every abuse limit is here, so an operator tunes them in the gateway config
 * (`portal.signup.perNetworkPerHour`, env `POCKET_GATEWAY__PORTAL__SIGNUP__PER_NETWORK_PER_HOUR`).
 */
export const PortalConfig = z
  .strictObject({
    enabled: z.boolean().default(true),
    /**
     * E-mail addresses that are administrators when they sign up or log in. The portal sends no
     * mail, so it cannot tell the address's owner from whoever signs up with it first: this list
     * is honoured only with `trustListedAdmins` (a local network nobody else reaches). A gateway
     * others can reach grants the role with `pocket-gateway admin portal-admin <email>`.
     */
    admins: z.array(z.email().max(254)).default([]),
    /** Honour `admins` on unverified sign-ups (local networks only); see `admins`. */
    trustListedAdmins: z.boolean().default(false),
    /**
     * Cookies carry `Secure` when true; `"auto"` sets it when the gateway's `publicUrl` is https
     * (plain-http loopback development cannot keep a Secure cookie in every browser).
     */
    secureCookies: z.union([z.boolean(), z.literal("auto")]).default("auto"),
    /**
     * How many reverse proxies of your own stand in front of the gateway (`true` is one): the
     * client address is the `X-Forwarded-For` entry the outermost of them appended. `false`/0:
     * the socket's address, and `X-Forwarded-For` is ignored.
     */
    trustProxy: z
      .union([z.boolean(), z.number().int().min(0).max(8)])
      .default(false)
      .transform((v) => (v === true ? 1 : v === false ? 0 : v)),
    /**
     * Where those proxies connect from (addresses or CIDR blocks): `X-Forwarded-For` is read only
     * on a connection from one of them, and only through entries that are theirs, so a client that
     * reaches the gateway (or an inner proxy) directly, past the others, still counts as its own
     * address. Default: this host (loopback); a proxy on another host is named here.
     */
    proxyAddresses: z
      .array(
        z.string().check((ctx) => {
          const problem = addressBlockProblem(ctx.value);
          if (problem !== undefined) ctx.issues.push({ code: "custom", message: problem, input: ctx.value });
        }),
      )
      .min(1)
      .max(256)
      .default(["127.0.0.0/8", "::1/128"]),
    /** How long a login lasts without activity ends it: absolute lifetime of a session. */
    sessionHours: z
      .number()
      .int()
      .min(1)
      .max(24 * 90)
      .default(24 * 7),
    signup: z
      .strictObject({
        /** Off: only existing accounts log in (the operator still creates applications by CLI). */
        enabled: z.boolean().default(true),
        /** Sign-ups from one network (IPv4 address, IPv6 /64) per rolling hour and day. */
        perNetworkPerHour: perWindow.default(5),
        perNetworkPerDay: perWindow.default(20),
        /** Sign-ups from everywhere per rolling hour: a brake on scripted mass sign-up. */
        perHour: perWindow.default(200),
        minPasswordLength: z.number().int().min(8).max(128).default(10),
      })
      .prefault({}),
    login: z
      .strictObject({
        /**
         * Failed log-ins allowed per network in 15 minutes, on every account: a guesser on one
         * network locks that network out, not the account's owner elsewhere.
         */
        failuresPer15Min: perWindow.default(10),
        /** Failed log-ins allowed per account in 15 minutes from all networks together. */
        accountFailuresPer15Min: perWindow.default(100),
      })
      .prefault({}),
    keys: z
      .strictObject({
        /** Active keys one account may hold. */
        maxPerAccount: z.number().int().min(1).max(1000).default(10),
        /**
         * Budget a new self-serve key gets when the customer sets none (at most `maxBudgetUsd`);
         * omitted: `maxBudgetUsd`, or what is left of the account's room under it.
         */
        defaultBudgetUsd: usd.optional(),
        /**
         * The highest budget a customer may give a key; the account's keys together hold at most
         * `maxPerAccount` times it. Sign-up asks for no payment, so a self-serve key always has a
         * budget unless the operator writes `null` here (no cap), which the gateway refuses on an
         * address others reach (see `publicSignupProblem`).
         */
        maxBudgetUsd: usd.nullable().default(DEFAULT_MAX_KEY_BUDGET_USD),
        /**
         * The most budget customers' key forms grant in a rolling 24 hours, all accounts together
         * (a new key its budget, a raise what it adds); past it a form is refused
         * (`SELF_SERVE_BUDGET_LIMITED`) until older grants leave the window. The operator's own
         * grants (CLI, admin API) are neither counted nor capped. `null`: no cap, refused like an
         * unlimited `maxBudgetUsd` on an address others reach (see `publicSignupProblem`).
         */
        selfServeUsdPerDay: usd.nullable().default(DEFAULT_SELF_SERVE_USD_PER_DAY),
        /** The highest requests per minute a customer may give a key (and the default); omitted: none. */
        maxRpm: z.number().int().positive().optional(),
      })
      .prefault({}),
    /**
     * scrypt cost for password hashes: N = 2^logN, r, p (memory = 128·N·r bytes: 32 MiB by
     * default). Lower it only for tests.
     */
    passwordHash: z
      .strictObject({
        logN: z.number().int().min(10).max(20).default(15),
        r: z.number().int().min(1).max(32).default(8),
        p: z.number().int().min(1).max(16).default(1),
      })
      .prefault({}),
  })
  .superRefine((portal, ctx) => {
    const { defaultBudgetUsd, maxBudgetUsd } = portal.keys;
    if (
      defaultBudgetUsd !== undefined &&
      maxBudgetUsd !== null &&
      parseUsd(defaultBudgetUsd) > parseUsd(maxBudgetUsd)
    )
      ctx.addIssue({
        code: "custom",
        path: ["keys", "defaultBudgetUsd"],
        message: `is more than keys.maxBudgetUsd (${maxBudgetUsd}): every key made without a budget would be refused; lower it or raise keys.maxBudgetUsd`,
      });
    if (portal.admins.length > 0 && !portal.trustListedAdmins)
      ctx.addIssue({
        code: "custom",
        path: ["admins"],
        message:
          "anyone could sign up first with a listed address and get the console: grant the role with `pocket-gateway admin portal-admin <email>` after the owner signs up (set portal.trustListedAdmins only on a local network nobody else reaches)",
      });
  })
  .prefault({});
export type PortalConfig = z.infer<typeof PortalConfig>;

/** Whether a listen host or URL host names this machine's loopback only (`127.0.0.1`, `::1`, `localhost`). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  return bare === "localhost" || bare.endsWith(".localhost") || isLoopbackAddress(bare);
}

/**
 * Why the portal cannot run as configured on a gateway others reach, and the setting to change, or
 * undefined: open sign-up (no e-mail check, no payment) with no budget cap on its keys lets anyone
 * who reaches the port relay without limit at the operator's cost, and with no daily cap on what
 * self-serve keys are granted, sign-ups from many networks add up to what `signup.perHour` allows
 * (a day of it, at the defaults, is 4,800 accounts: $48,000). "Others reach" is a listen host that
 * is not loopback (`0.0.0.0` included), or a `publicUrl` that is not (a reverse proxy on this host).
 */
export function publicSignupProblem(
  portal: PortalConfig,
  listenHost: string,
  publicUrl: string | undefined,
): { readonly setting: "maxBudgetUsd" | "selfServeUsdPerDay"; readonly message: string } | undefined {
  const { maxBudgetUsd, selfServeUsdPerDay, maxPerAccount } = portal.keys;
  if (!portal.enabled || !portal.signup.enabled || (maxBudgetUsd !== null && selfServeUsdPerDay !== null))
    return undefined;
  const publicHost = publicUrl === undefined ? undefined : new URL(publicUrl).hostname;
  if (isLoopbackHost(listenHost) && (publicHost === undefined || isLoopbackHost(publicHost)))
    return undefined;
  const reached = publicHost ?? listenHost;
  const otherwise = `close sign-up (portal.signup.enabled: false) and create keys with \`pocket-gateway admin keys create\`, or listen on 127.0.0.1 only`;
  if (maxBudgetUsd === null)
    return {
      setting: "maxBudgetUsd",
      message: `with sign-up open and no budget cap, anyone who reaches ${reached} could sign up and relay without limit at your cost: set portal.keys.maxBudgetUsd to a dollar amount (default ${DEFAULT_MAX_KEY_BUDGET_USD}), ${otherwise}`,
    };
  // BigInt: the largest caps multiplied together pass Number's safe integers.
  const perDay = BigInt(portal.signup.perHour) * 24n * BigInt(maxPerAccount) * BigInt(parseUsd(maxBudgetUsd));
  return {
    setting: "selfServeUsdPerDay",
    message: `with sign-up open and no daily cap on self-serve budget, anyone who reaches ${reached} could sign up from many networks and be granted up to $${formatUsd(perDay)} a day at your cost (signup.perHour × 24 × keys.maxPerAccount × keys.maxBudgetUsd): set portal.keys.selfServeUsdPerDay to a dollar amount (default ${DEFAULT_SELF_SERVE_USD_PER_DAY}), ${otherwise}`,
  };
}
