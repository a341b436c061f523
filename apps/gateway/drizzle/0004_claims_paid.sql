ALTER TABLE `claims` ADD `paid_relays` integer;--> statement-breakpoint
ALTER TABLE `claims` ADD `paid_compute_units` text;