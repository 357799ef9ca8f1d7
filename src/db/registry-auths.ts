import { eq, inArray } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "./client.js";
import { chunks } from "./cas.js";
import { serviceRegistryAuths } from "./schema/index.js";

/**
 * The statement that stores a service's sealed registry credentials (null:
 * removes them), for the batch that writes the service. It writes no event:
 * credentials appear in none.
 */
export function putServiceRegistryAuth(db: Db, serviceId: string, sealed: string | null): BatchItem<"sqlite"> {
  if (sealed === null) return db.delete(serviceRegistryAuths).where(eq(serviceRegistryAuths.serviceId, serviceId));
  return db.insert(serviceRegistryAuths).values({ serviceId, sealed }).onConflictDoUpdate({ target: serviceRegistryAuths.serviceId, set: { sealed } });
}

/** The sealed credentials of these services (those that have some), by service id: for task assignments only. */
export async function listServiceRegistryAuths(db: Db, serviceIds: string[]): Promise<Map<string, string>> {
  const parts = await Promise.all(
    chunks([...new Set(serviceIds)], 1).map((part) => db.select().from(serviceRegistryAuths).where(inArray(serviceRegistryAuths.serviceId, part))),
  );
  return new Map(parts.flat().map((r) => [r.serviceId, r.sealed]));
}
