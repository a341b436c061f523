CREATE TABLE `claims` (
	`session_id` text NOT NULL,
	`node_address` text NOT NULL,
	`service_id` text NOT NULL,
	`application_address` text NOT NULL,
	`session_number` integer NOT NULL,
	`session_end` integer NOT NULL,
	`root` text NOT NULL,
	`relay_count` integer NOT NULL,
	`compute_units` text NOT NULL,
	`proof_seed` text NOT NULL,
	`leaf_index` integer NOT NULL,
	`status` text NOT NULL,
	`week_id` text NOT NULL,
	`rate_micro_usd_per_pokt` integer NOT NULL,
	`minted_upokt` text DEFAULT '0' NOT NULL,
	`detail` text,
	`claimed_at` integer NOT NULL,
	`settled_at` integer,
	PRIMARY KEY(`session_id`, `node_address`)
);
--> statement-breakpoint
CREATE INDEX `claims_week` ON `claims` (`week_id`,`status`);--> statement-breakpoint
CREATE TABLE `nodes` (
	`address` text PRIMARY KEY NOT NULL,
	`public_key` text NOT NULL,
	`endpoint` text NOT NULL,
	`operator` text,
	`announcement` text NOT NULL,
	`registered_at` integer NOT NULL,
	`last_announced_at` integer NOT NULL,
	`status` text DEFAULT 'active' NOT NULL
);
--> statement-breakpoint
CREATE TABLE `relays` (
	`request_hash` text PRIMARY KEY NOT NULL,
	`application_id` text NOT NULL,
	`key_id` text NOT NULL,
	`service_id` text NOT NULL,
	`tier` text NOT NULL,
	`operation` text NOT NULL,
	`node_address` text,
	`session_id` text NOT NULL,
	`session_number` integer NOT NULL,
	`outcome` text NOT NULL,
	`error_code` text,
	`leaf_hash` text,
	`compute_units` integer DEFAULT 0 NOT NULL,
	`input_tokens` integer DEFAULT 0 NOT NULL,
	`output_tokens` integer DEFAULT 0 NOT NULL,
	`images` integer DEFAULT 0 NOT NULL,
	`price_micro_usd` integer DEFAULT 0 NOT NULL,
	`attempts` integer DEFAULT 1 NOT NULL,
	`latency_ms` integer DEFAULT 0 NOT NULL,
	`ttft_ms` integer,
	`stream` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `relays_session_node` ON `relays` (`session_id`,`node_address`,`outcome`);--> statement-breakpoint
CREATE INDEX `relays_leaf` ON `relays` (`leaf_hash`);--> statement-breakpoint
CREATE INDEX `relays_key_time` ON `relays` (`key_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `weekly_rates` (
	`week_id` text PRIMARY KEY NOT NULL,
	`rate_micro_usd_per_pokt` integer NOT NULL,
	`set_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `api_keys` ADD `role` text DEFAULT 'application' NOT NULL;