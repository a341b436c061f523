ALTER TABLE `item_results` ADD `perceptual_hash` text;--> statement-breakpoint
ALTER TABLE `item_results` ADD `checks` text;