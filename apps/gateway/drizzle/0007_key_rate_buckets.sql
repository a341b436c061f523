CREATE TABLE `key_rate_buckets` (
	`key_id` text NOT NULL,
	`second` integer NOT NULL,
	`requests` integer NOT NULL,
	`tokens` integer NOT NULL,
	PRIMARY KEY(`key_id`, `second`)
);
--> statement-breakpoint
CREATE INDEX `key_rate_buckets_second` ON `key_rate_buckets` (`second`);--> statement-breakpoint
-- The reservations already in a window start in their buckets.
INSERT INTO `key_rate_buckets` (`key_id`, `second`, `requests`, `tokens`)
SELECT `key_id`, `at` / 1000, sum(`requests`), sum(`tokens`) FROM `key_reservations` GROUP BY `key_id`, `at` / 1000;
