CREATE TABLE `reconcile_marks` (
	`service_id` text PRIMARY KEY NOT NULL,
	`due_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `reconcile_marks_due` ON `reconcile_marks` (`due_at`);--> statement-breakpoint
ALTER TABLE `cluster` DROP COLUMN `reconciled_generation`;--> statement-breakpoint
ALTER TABLE `cluster` DROP COLUMN `wake_at`;--> statement-breakpoint
-- Every service is looked at once after the upgrade: marks replace the generation pair dropped above.
INSERT INTO `reconcile_marks` (`service_id`, `due_at`) SELECT `id`, 0 FROM `services`;
