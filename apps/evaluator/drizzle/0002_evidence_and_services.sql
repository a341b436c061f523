PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_node_scores` (
	`node_address` text NOT NULL,
	`service_id` text NOT NULL,
	`run_id` text NOT NULL,
	`entry` text NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`node_address`, `service_id`)
);
--> statement-breakpoint
INSERT INTO `__new_node_scores`("node_address", "service_id", "run_id", "entry", "updated_at") SELECT "node_address", json_extract("entry", '$.serviceId'), "run_id", "entry", "updated_at" FROM `node_scores`;--> statement-breakpoint
DROP TABLE `node_scores`;--> statement-breakpoint
ALTER TABLE `__new_node_scores` RENAME TO `node_scores`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE UNIQUE INDEX `node_scores_run_idx` ON `node_scores` (`run_id`);--> statement-breakpoint
ALTER TABLE `item_results` ADD `varied` integer;