-- Refused rows (and streams' open rows) leave the index: only answered rows are read through it
-- (a claim's leaves, a settled claim's rows to prune), the refused rows of a settled claim being
-- found through `relays_outcome_end`. Each refused relay's write then touches one B-tree less.
DROP INDEX `relays_session_gateway`;--> statement-breakpoint
CREATE INDEX `relays_session_gateway` ON `relays` (`session_id`,`gateway_address`) WHERE outcome = 'ok';
