import { and, asc, eq, ne, or, sql } from "drizzle-orm";
import type { Db } from "./client.js";
import { apiTokens } from "./schema/index.js";

export type ApiTokenRow = typeof apiTokens.$inferSelect;

export async function getApiToken(db: Db, id: string): Promise<ApiTokenRow | undefined> {
  return db.query.apiTokens.findFirst({ where: eq(apiTokens.id, id) });
}

export async function listApiTokens(db: Db): Promise<ApiTokenRow[]> {
  return db.select().from(apiTokens).orderBy(asc(apiTokens.createdAt), asc(apiTokens.id));
}

export async function insertApiToken(db: Db, row: ApiTokenRow): Promise<void> {
  await db.insert(apiTokens).values(row);
}

/**
 * Deletes a token unless it is the last admin token (which would lock every
 * operator out). Returns false when nothing was deleted.
 */
export async function deleteApiToken(db: Db, id: string): Promise<boolean> {
  const deleted = await db
    .delete(apiTokens)
    .where(
      and(
        eq(apiTokens.id, id),
        or(ne(apiTokens.scope, "admin"), sql`(SELECT count(*) FROM api_tokens WHERE scope = 'admin') > 1`),
      ),
    )
    .returning({ id: apiTokens.id });
  return deleted.length > 0;
}
