CREATE TABLE `probe_applications` (
	`address` text PRIMARY KEY NOT NULL,
	`born_at` integer NOT NULL,
	`retire_at` integer NOT NULL,
	`activity_ppm` integer NOT NULL
);
