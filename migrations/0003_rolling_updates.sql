ALTER TABLE `services` ADD `update_status` text;--> statement-breakpoint
ALTER TABLE `tasks` ADD `started_at` integer;