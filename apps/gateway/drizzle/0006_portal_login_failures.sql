CREATE TABLE `portal_login_failures` (
	`subject` text NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `portal_login_failures_subject` ON `portal_login_failures` (`subject`,`at`);--> statement-breakpoint
CREATE INDEX `portal_login_failures_at` ON `portal_login_failures` (`at`);