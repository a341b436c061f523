CREATE TABLE "api_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "api_keys_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"application_id" text NOT NULL,
	"name" text NOT NULL,
	"prefix" text NOT NULL,
	"hash" text NOT NULL,
	"status" text NOT NULL,
	"rpm" bigint,
	"tpm" bigint,
	"budget_micro_usd" bigint,
	"spent_micro_usd" bigint DEFAULT 0 NOT NULL,
	"reserved_micro_usd" bigint DEFAULT 0 NOT NULL,
	"requests" bigint DEFAULT 0 NOT NULL,
	"tokens" bigint DEFAULT 0 NOT NULL,
	"created_at" bigint NOT NULL,
	"revoked_at" bigint,
	"last_used_at" bigint,
	"role" text DEFAULT 'application' NOT NULL,
	CONSTRAINT "api_keys_hash_unique" UNIQUE("hash"),
	CONSTRAINT "api_keys_reserved_nonnegative" CHECK ("api_keys"."reserved_micro_usd" >= 0)
);
--> statement-breakpoint
CREATE TABLE "applications" (
	"id" text PRIMARY KEY NOT NULL,
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "applications_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"name" text NOT NULL,
	"operator" text,
	"address" text NOT NULL,
	"status" text NOT NULL,
	"created_at" bigint NOT NULL,
	"disabled_at" bigint,
	CONSTRAINT "applications_address_unique" UNIQUE("address")
);
--> statement-breakpoint
CREATE TABLE "claims" (
	"session_id" text NOT NULL,
	"node_address" text NOT NULL,
	"service_id" text NOT NULL,
	"application_address" text NOT NULL,
	"session_number" bigint NOT NULL,
	"session_end" bigint NOT NULL,
	"root" text NOT NULL,
	"relay_count" bigint NOT NULL,
	"compute_units" text NOT NULL,
	"proof_seed" text NOT NULL,
	"leaf_index" bigint NOT NULL,
	"status" text NOT NULL,
	"week_id" text NOT NULL,
	"rate_micro_usd_per_pokt" bigint NOT NULL,
	"minted_upokt" text DEFAULT '0' NOT NULL,
	"detail" text,
	"claimed_at" bigint NOT NULL,
	"settled_at" bigint,
	CONSTRAINT "claims_session_id_node_address_pk" PRIMARY KEY("session_id","node_address")
);
--> statement-breakpoint
CREATE TABLE "key_reservations" (
	"id" text PRIMARY KEY NOT NULL,
	"key_id" text NOT NULL,
	"at" bigint NOT NULL,
	"requests" bigint NOT NULL,
	"tokens" bigint NOT NULL,
	"held_micro_usd" bigint NOT NULL,
	"open" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "nodes" (
	"address" text PRIMARY KEY NOT NULL,
	"public_key" text NOT NULL,
	"endpoint" text NOT NULL,
	"operator" text,
	"announcement" text NOT NULL,
	"registered_at" bigint NOT NULL,
	"last_announced_at" bigint NOT NULL,
	"status" text DEFAULT 'active' NOT NULL
);
--> statement-breakpoint
CREATE TABLE "portal_sessions" (
	"id_hash" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "portal_users" (
	"id" text PRIMARY KEY NOT NULL,
	"email" text NOT NULL,
	"password_hash" text NOT NULL,
	"role" text DEFAULT 'customer' NOT NULL,
	"application_id" text NOT NULL,
	"signup_network" text NOT NULL,
	"created_at" bigint NOT NULL,
	"last_login_at" bigint
);
--> statement-breakpoint
CREATE TABLE "relays" (
	"request_hash" text PRIMARY KEY NOT NULL,
	"application_id" text NOT NULL,
	"key_id" text NOT NULL,
	"service_id" text NOT NULL,
	"tier" text NOT NULL,
	"operation" text NOT NULL,
	"node_address" text,
	"session_id" text NOT NULL,
	"session_number" bigint NOT NULL,
	"outcome" text NOT NULL,
	"error_code" text,
	"leaf_hash" text,
	"compute_units" bigint DEFAULT 0 NOT NULL,
	"input_tokens" bigint DEFAULT 0 NOT NULL,
	"output_tokens" bigint DEFAULT 0 NOT NULL,
	"images" bigint DEFAULT 0 NOT NULL,
	"price_micro_usd" bigint DEFAULT 0 NOT NULL,
	"attempts" integer DEFAULT 1 NOT NULL,
	"latency_ms" bigint DEFAULT 0 NOT NULL,
	"ttft_ms" bigint,
	"stream" boolean DEFAULT false NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "weekly_rates" (
	"week_id" text PRIMARY KEY NOT NULL,
	"rate_micro_usd_per_pokt" bigint NOT NULL,
	"set_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_application_id_applications_id_fk" FOREIGN KEY ("application_id") REFERENCES "public"."applications"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "api_keys_application" ON "api_keys" USING btree ("application_id");--> statement-breakpoint
CREATE INDEX "claims_week" ON "claims" USING btree ("week_id","status");--> statement-breakpoint
CREATE INDEX "key_reservations_key_at" ON "key_reservations" USING btree ("key_id","at");--> statement-breakpoint
CREATE INDEX "key_reservations_at" ON "key_reservations" USING btree ("at");--> statement-breakpoint
CREATE INDEX "portal_sessions_user" ON "portal_sessions" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "portal_users_email_unique" ON "portal_users" USING btree ("email");--> statement-breakpoint
CREATE INDEX "portal_users_signup" ON "portal_users" USING btree ("signup_network","created_at");--> statement-breakpoint
CREATE INDEX "portal_users_created" ON "portal_users" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "relays_session_node" ON "relays" USING btree ("session_id","node_address","outcome");--> statement-breakpoint
CREATE INDEX "relays_leaf" ON "relays" USING btree ("leaf_hash");--> statement-breakpoint
CREATE INDEX "relays_key_time" ON "relays" USING btree ("key_id","created_at");--> statement-breakpoint
CREATE INDEX "relays_time" ON "relays" USING btree ("created_at");