CREATE TABLE `log_chunks` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`session_id` text NOT NULL,
	`node_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`lines` text NOT NULL,
	`caught_up` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `log_chunks_session` ON `log_chunks` (`session_id`,`id`);--> statement-breakpoint
CREATE INDEX `log_chunks_created` ON `log_chunks` (`created_at`);--> statement-breakpoint
CREATE TABLE `log_sessions` (
	`id` text NOT NULL,
	`node_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`task_ids` text NOT NULL,
	`follow` integer NOT NULL,
	`tail` integer,
	`since_ms` integer,
	`caught_up_at` integer,
	PRIMARY KEY(`id`, `node_id`)
);
--> statement-breakpoint
CREATE INDEX `log_sessions_node` ON `log_sessions` (`node_id`);