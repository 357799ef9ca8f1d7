import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { stackResourceKinds } from "../../domain/stack.js";

/**
 * The networks, volumes, secrets and configs each stack's compose files
 * declare, as last deployed: checked and recorded now, created for real once
 * shoal has those objects. A stack's services are the services labelled
 * with its namespace; stacks themselves are not stored (as in Swarm).
 */
export const stackResources = sqliteTable(
  "stack_resources",
  {
    stack: text("stack").notNull(),
    kind: text("kind", { enum: stackResourceKinds }).notNull(),
    /** The name on the cluster (`<stack>_<key>`, its own `name:`, or the external object's). */
    name: text("name").notNull(),
    /** The key in the compose file. */
    key: text("key").notNull(),
    external: integer("external", { mode: "boolean" }).notNull(),
    definition: text("definition", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.stack, t.kind, t.name] })],
);
