ALTER TABLE `claims` ADD `claim_receipt` text;--> statement-breakpoint
ALTER TABLE `claims` ADD `proof_receipt` text;