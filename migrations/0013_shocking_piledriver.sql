ALTER TABLE `reconcile_marks` ADD `token` text DEFAULT '' NOT NULL;--> statement-breakpoint
UPDATE `cluster` SET `max_heartbeats_per_second` = 100 WHERE `max_heartbeats_per_second` = 1000;
