DROP INDEX `key_reservations_at`;--> statement-breakpoint
DROP INDEX `relays_leaf`;