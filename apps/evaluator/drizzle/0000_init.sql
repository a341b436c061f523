CREATE TABLE `category_scores` (
	`run_id` text NOT NULL,
	`category` text NOT NULL,
	`mean` real NOT NULL,
	`lower` real NOT NULL,
	`upper` real NOT NULL,
	`n` integer NOT NULL,
	PRIMARY KEY(`run_id`, `category`),
	FOREIGN KEY (`run_id`) REFERENCES `runs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `item_results` (
	`run_id` text NOT NULL,
	`item_key` text NOT NULL,
	`kind` text NOT NULL,
	`category` text,
	`status` text NOT NULL,
	`score` real,
	`stat` real,
	`ttft_ms` real,
	`prompt_hash` text NOT NULL,
	`response_hash` text,
	`error_code` text,
	`probes` integer DEFAULT 1 NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`run_id`, `item_key`),
	FOREIGN KEY (`run_id`) REFERENCES `runs`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `node_scores` (
	`node_address` text PRIMARY KEY NOT NULL,
	`run_id` text NOT NULL,
	`entry` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `node_scores_run_idx` ON `node_scores` (`run_id`);--> statement-breakpoint
CREATE TABLE `runs` (
	`id` text PRIMARY KEY NOT NULL,
	`node_address` text NOT NULL,
	`service_id` text NOT NULL,
	`seed` integer NOT NULL,
	`suite_hash` text NOT NULL,
	`status` text NOT NULL,
	`planned_items` integer NOT NULL,
	`started_at` integer NOT NULL,
	`finished_at` integer
);
--> statement-breakpoint
CREATE INDEX `runs_node_idx` ON `runs` (`node_address`,`started_at`);