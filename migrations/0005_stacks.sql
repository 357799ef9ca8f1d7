CREATE TABLE `stack_resources` (
	`stack` text NOT NULL,
	`kind` text NOT NULL,
	`name` text NOT NULL,
	`key` text NOT NULL,
	`external` integer NOT NULL,
	`definition` text NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`stack`, `kind`, `name`)
);
