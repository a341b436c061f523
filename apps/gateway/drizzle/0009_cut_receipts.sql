CREATE TABLE `cut_receipts` (
	`request_hash` text PRIMARY KEY NOT NULL,
	`node_address` text NOT NULL,
	`session_id` text NOT NULL,
	`receipt` text NOT NULL,
	`expires_at` integer NOT NULL,
	`next_attempt_at` integer NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `cut_receipts_due` ON `cut_receipts` (`next_attempt_at`);