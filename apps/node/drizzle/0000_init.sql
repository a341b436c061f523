CREATE TABLE `claims` (
	`session_id` text NOT NULL,
	`gateway_address` text NOT NULL,
	`service_id` text NOT NULL,
	`application_address` text NOT NULL,
	`session_number` integer NOT NULL,
	`session_end` integer NOT NULL,
	`root` text NOT NULL,
	`relay_count` integer NOT NULL,
	`compute_units` text NOT NULL,
	`status` text NOT NULL,
	`proof_seed` text,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`last_error` text,
	`minted_upokt` text,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`session_id`, `gateway_address`)
);
--> statement-breakpoint
CREATE INDEX `claims_due` ON `claims` (`status`,`next_attempt_at`);--> statement-breakpoint
CREATE TABLE `relays` (
	`request_hash` text PRIMARY KEY NOT NULL,
	`session_id` text NOT NULL,
	`session_number` integer NOT NULL,
	`session_end` integer NOT NULL,
	`service_id` text NOT NULL,
	`tier` text NOT NULL,
	`application_address` text NOT NULL,
	`gateway_address` text NOT NULL,
	`outcome` text NOT NULL,
	`error_code` text,
	`response_hash` text,
	`leaf_hash` text,
	`input_tokens` integer DEFAULT 0 NOT NULL,
	`output_tokens` integer DEFAULT 0 NOT NULL,
	`compute_units` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`completed_at` integer
);
--> statement-breakpoint
CREATE INDEX `relays_session_gateway` ON `relays` (`session_id`,`gateway_address`,`outcome`);