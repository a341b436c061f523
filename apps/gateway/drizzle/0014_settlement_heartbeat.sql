CREATE TABLE `settlement_heartbeat` (
	`id` text PRIMARY KEY NOT NULL,
	`alive_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `claims` ADD `proof_extension_ms` integer DEFAULT 0 NOT NULL;