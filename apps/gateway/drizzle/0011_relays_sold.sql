ALTER TABLE `relays` ADD `sold_service_id` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `relays` ADD `sold_tier` text DEFAULT '' NOT NULL;