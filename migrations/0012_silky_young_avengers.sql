CREATE TABLE `service_registry_auths` (
	`service_id` text PRIMARY KEY NOT NULL,
	`sealed` text NOT NULL
);
