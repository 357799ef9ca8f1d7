import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const apiTokenScopes = ["admin", "read"] as const;
export type ApiTokenScope = (typeof apiTokenScopes)[number];

/**
 * API tokens. The token itself is a signed JWT naming this row; only the row is
 * stored, so nothing here can be used to authenticate. Deleting the row revokes it.
 */
export const apiTokens = sqliteTable("api_tokens", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  scope: text("scope", { enum: apiTokenScopes }).notNull(),
  createdAt: integer("created_at").notNull(),
});
