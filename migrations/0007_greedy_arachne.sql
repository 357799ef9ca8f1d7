CREATE TABLE `ip_allocations` (
	`network_id` text NOT NULL,
	`addr` text NOT NULL,
	`kind` text NOT NULL,
	`owner` text NOT NULL,
	`allocated_at` integer NOT NULL,
	`released_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ip_allocations_addr` ON `ip_allocations` (`network_id`,`addr`);--> statement-breakpoint
CREATE INDEX `ip_allocations_owner` ON `ip_allocations` (`owner`);--> statement-breakpoint
CREATE TABLE `networks` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`driver` text NOT NULL,
	`subnet` text NOT NULL,
	`gateway` text NOT NULL,
	`vni` integer NOT NULL,
	`mtu` integer,
	`encrypted` integer NOT NULL,
	`internal` integer NOT NULL,
	`attachable` integer NOT NULL,
	`ingress` integer NOT NULL,
	`labels` text NOT NULL,
	`options` text NOT NULL,
	`ip_cursor` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `networks_name_unique` ON `networks` (`name`);--> statement-breakpoint
CREATE UNIQUE INDEX `networks_vni_unique` ON `networks` (`vni`);--> statement-breakpoint
ALTER TABLE `cluster` ADD `network_generation` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `nodes` ADD `overlay` text;--> statement-breakpoint
ALTER TABLE `nodes` ADD `network_issues` text DEFAULT '[]' NOT NULL;