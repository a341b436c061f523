CREATE TABLE `ledger_sessions` (
	`session_id` text NOT NULL,
	`gateway_address` text NOT NULL,
	`service_id` text NOT NULL,
	`application_address` text NOT NULL,
	`session_number` integer NOT NULL,
	`session_end` integer NOT NULL,
	PRIMARY KEY(`session_id`, `gateway_address`)
);
--> statement-breakpoint
CREATE INDEX `ledger_sessions_end` ON `ledger_sessions` (`session_end`);--> statement-breakpoint
-- A ledger written before this table: each (session, gateway) with an answered relay, once.
INSERT OR IGNORE INTO `ledger_sessions` SELECT DISTINCT `session_id`, `gateway_address`, `service_id`, `application_address`, `session_number`, `session_end` FROM `relays` WHERE `outcome` = 'ok';
