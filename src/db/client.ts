import type { LibSQLDatabase } from "drizzle-orm/libsql";
import * as schema from "./schema/index.js";

export { schema };

/**
 * The database handle the app is given. Both runtimes' drivers (libSQL and D1)
 * are drizzle's async SQLite database with an atomic `batch`; the libSQL type
 * names that shared surface.
 */
export type Db = LibSQLDatabase<typeof schema>;
