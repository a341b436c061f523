CREATE TABLE `portal_budget_grants` (
	`at` integer NOT NULL,
	`micro_usd` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `portal_budget_grants_at` ON `portal_budget_grants` (`at`);