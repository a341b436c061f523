CREATE TABLE `key_reservations` (
	`id` text PRIMARY KEY NOT NULL,
	`key_id` text NOT NULL,
	`at` integer NOT NULL,
	`requests` integer NOT NULL,
	`tokens` integer NOT NULL,
	`held_micro_usd` integer NOT NULL,
	`open` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `key_reservations_key_at` ON `key_reservations` (`key_id`,`at`);--> statement-breakpoint
CREATE INDEX `key_reservations_at` ON `key_reservations` (`at`);