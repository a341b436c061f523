/**
 * The CLI's usage texts. They live apart from the commands so that `--help` and a usage error are
 * answered without loading the admin client or the app (see `cli.ts`).
 */

export const ADMIN_USAGE = `Admin commands (need the gateway's admin token):
  pocket-gateway admin apps create --name NAME [--operator NAME]
  pocket-gateway admin apps list
  pocket-gateway admin apps disable --app APP_ID
  pocket-gateway admin apps enable --app APP_ID
  pocket-gateway admin keys create --app APP_ID --name NAME [--rpm N] [--tpm N] [--budget-usd 5.00] [--role evaluator]
  pocket-gateway admin keys list [--app APP_ID]
  pocket-gateway admin keys revoke --key KEY_ID
  pocket-gateway admin usage [--app APP_ID] [--key KEY_ID] [--days 30]
  pocket-gateway admin portal-admin EMAIL [--role customer]   make a portal account an administrator (or not)`;

export const SETTLEMENT_USAGE = `Settlement commands:
  pocket-gateway tally [--week 2026-W48] [--format text|csv|json]   the week's mint, charge and burn (default: this week, text)
  pocket-gateway rates set --week 2026-W48 --usd-per-pokt 0.25     set a week's POKT price (final once a claim pinned it)
  pocket-gateway rates list                                         every week's rate and how many claims pinned it
  pocket-gateway claims list [--week 2026-W48] [--status claimed|proven|rejected] [--limit 100] [--format text|json]`;

export const USAGE = `pocket-gateway — sell AI relays to applications through the OpenAI API

Usage:
  pocket-gateway start [--config gateway.yaml]   start the gateway (Ctrl-C drains and stops)
  pocket-gateway keys generate --out FILE        create a signing key (never overwrites) and print its address
  pocket-gateway admin …                         applications, API keys, usage (see below)
  pocket-gateway tally | rates | claims …        weekly settlement (see below)

Admin and settlement commands call a running gateway's admin API: --url (default: the config's
listen address, or POCKET_GATEWAY_URL) with the admin token (config adminToken, or
POCKET_GATEWAY__ADMIN_TOKEN). The token goes in clear over http://, so a --url to another host
must be https:// (or add --insecure, on a network you trust).

${ADMIN_USAGE}

${SETTLEMENT_USAGE}

Config: YAML or JSON (see apps/gateway/gateway.example.yaml). Any field can be overridden from the
environment: POCKET_GATEWAY__LISTEN__PORT=9000, POCKET_GATEWAY__ADMIN_TOKEN=..., and so on.
The config path can also come from POCKET_GATEWAY_CONFIG.`;
