CREATE TABLE `service_hooks` (
	`id` text PRIMARY KEY NOT NULL,
	`service_id` text NOT NULL,
	`name` text NOT NULL,
	`action` text NOT NULL,
	`token_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_triggered_at` integer,
	`window_start` integer DEFAULT 0 NOT NULL,
	`window_count` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `service_hooks_token_hash_unique` ON `service_hooks` (`token_hash`);--> statement-breakpoint
CREATE INDEX `service_hooks_service` ON `service_hooks` (`service_id`);