ALTER TABLE `nodes` ADD `arrived_from` text;--> statement-breakpoint
ALTER TABLE `nodes` ADD `arrived_at` integer;--> statement-breakpoint
CREATE INDEX `nodes_arrivals` ON `nodes` (`arrived_from`,`arrived_at`);