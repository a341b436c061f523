ALTER TABLE `relays` ADD `stream` integer DEFAULT false NOT NULL;--> statement-breakpoint
-- A ledger written before this column: a relay recorded cut short (only the stream path writes
-- STREAM_INTERRUPTED) was a stream; any other row is taken for unary, so no cut receipt changes it.
UPDATE `relays` SET `stream` = 1 WHERE `error_code` = 'STREAM_INTERRUPTED';
