CREATE TABLE `services` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`mode` text NOT NULL,
	`spec` text NOT NULL,
	`previous_spec` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `services_name_unique` ON `services` (`name`);--> statement-breakpoint
CREATE TABLE `task_specs` (
	`hash` text PRIMARY KEY NOT NULL,
	`spec` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `tasks` (
	`id` text PRIMARY KEY NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`service_id` text NOT NULL,
	`slot` integer,
	`node_id` text,
	`spec_hash` text NOT NULL,
	`desired_state` text NOT NULL,
	`state` text NOT NULL,
	`state_message` text DEFAULT '' NOT NULL,
	`state_changed_at` integer NOT NULL,
	`error` text DEFAULT '' NOT NULL,
	`exit_code` integer,
	`attempt` integer DEFAULT 0 NOT NULL,
	`restart_at` integer,
	`reserve_nano_cpus` integer DEFAULT 0 NOT NULL,
	`reserve_memory_bytes` integer DEFAULT 0 NOT NULL,
	`host_ports` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `tasks_service` ON `tasks` (`service_id`,`slot`);--> statement-breakpoint
CREATE INDEX `tasks_node` ON `tasks` (`node_id`);--> statement-breakpoint
CREATE INDEX `tasks_state` ON `tasks` (`state`);--> statement-breakpoint
ALTER TABLE `cluster` ADD `generation` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `cluster` ADD `reconciled_generation` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `cluster` ADD `wake_at` integer;