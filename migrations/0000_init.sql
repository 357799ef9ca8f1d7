CREATE TABLE `cas_guard` (
	`id` integer PRIMARY KEY NOT NULL,
	`changed` integer NOT NULL,
	CONSTRAINT "cas_guard_changed" CHECK("cas_guard"."changed" > 0)
);
--> statement-breakpoint
CREATE TABLE `cluster` (
	`id` text PRIMARY KEY NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`heartbeat_period_ms` integer NOT NULL,
	`missed_heartbeats` integer NOT NULL,
	`max_heartbeats_per_second` integer NOT NULL,
	`task_history_limit` integer NOT NULL,
	`default_strategy` text NOT NULL,
	`worker_join_generation` integer DEFAULT 1 NOT NULL,
	`manager_join_generation` integer DEFAULT 1 NOT NULL,
	`node_count` integer DEFAULT 0 NOT NULL,
	`liveness_grace_until` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`time` integer NOT NULL,
	`type` text NOT NULL,
	`action` text NOT NULL,
	`actor_id` text NOT NULL,
	`attributes` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `events_time` ON `events` (`time`);--> statement-breakpoint
CREATE TABLE `nodes` (
	`id` text PRIMARY KEY NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`role` text NOT NULL,
	`availability` text NOT NULL,
	`labels` text NOT NULL,
	`machine_id` text NOT NULL,
	`hostname` text NOT NULL,
	`os` text NOT NULL,
	`architecture` text NOT NULL,
	`nano_cpus` integer NOT NULL,
	`memory_bytes` integer NOT NULL,
	`engine_version` text NOT NULL,
	`engine_labels` text NOT NULL,
	`addr` text NOT NULL,
	`state` text NOT NULL,
	`state_message` text DEFAULT '' NOT NULL,
	`last_heartbeat_at` integer NOT NULL,
	`lease_expires_at` integer NOT NULL,
	`credential_generation` integer DEFAULT 1 NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `nodes_machine_id` ON `nodes` (`machine_id`);--> statement-breakpoint
CREATE INDEX `nodes_state_lease` ON `nodes` (`state`,`lease_expires_at`);--> statement-breakpoint
CREATE TABLE `api_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`scope` text NOT NULL,
	`created_at` integer NOT NULL
);
