import { integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const fileObjectKinds = ["secret", "config"] as const;
export type FileObjectKind = (typeof fileObjectKinds)[number];

/**
 * Swarm secrets and configs: named, immutable files services mount. One table,
 * since both have the same shape and rules; they differ only in how `data` is
 * kept: a config's as base64, a secret's sealed (AES-GCM under a key derived
 * from the cluster key, bound to the row's id), never in plain text.
 */
export const fileObjects = sqliteTable(
  "file_objects",
  {
    id: text("id").primaryKey(),
    kind: text("kind", { enum: fileObjectKinds }).notNull(),
    name: text("name").notNull(),
    version: integer("version").notNull().default(1),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    labels: text("labels", { mode: "json" }).$type<Record<string, string>>().notNull(),
    /** Config: the bytes in base64. Secret: `iv.ciphertext` (src/auth/secret-box.ts). */
    data: text("data").notNull(),
    /** Length of the plain bytes. */
    size: integer("size").notNull(),
  },
  (t) => [uniqueIndex("file_objects_name").on(t.kind, t.name)],
);
