-- Answered rows, most of the ledger, leave the index: the claim loop finds their sessions in
-- `ledger_sessions`, and only the pruning of refused rows and the start's look for `pending` rows
-- and open streams read it. Each answered relay's write then touches one B-tree less.
DROP INDEX `relays_outcome_end`;--> statement-breakpoint
CREATE INDEX `relays_outcome_end` ON `relays` (`outcome`,`session_end`) WHERE outcome = 'error' OR outcome = 'pending';
