ALTER TABLE "claims" ADD COLUMN "paid_relays" bigint;--> statement-breakpoint
ALTER TABLE "claims" ADD COLUMN "paid_compute_units" text;