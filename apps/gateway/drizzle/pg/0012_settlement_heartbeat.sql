CREATE TABLE "settlement_heartbeat" (
	"id" text PRIMARY KEY NOT NULL,
	"alive_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "claims" ADD COLUMN "proof_extension_ms" bigint DEFAULT 0 NOT NULL;