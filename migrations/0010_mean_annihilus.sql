CREATE TABLE `exec_sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`task_id` text NOT NULL,
	`node_id` text NOT NULL,
	`cmd` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`started_at` integer,
	`ended_at` integer,
	`exit_code` integer,
	`error` text
);
--> statement-breakpoint
CREATE INDEX `exec_sessions_node` ON `exec_sessions` (`node_id`);