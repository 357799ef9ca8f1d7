import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../db/client.js";
import { findServicesByRef, listServices, updateServiceSpec, type ServiceRow } from "../db/services.js";
import type { ServiceSpec } from "../spec/service-spec.js";
import type { AppDeps } from "./context.js";
import { ApiError, notFound } from "./errors.js";
import { assignIngressPorts } from "./ingress-ports.js";

/** A service by what a user typed (id, unique id prefix or name); 404 / 409 otherwise. */
export async function resolveService(db: Db, ref: string): Promise<ServiceRow> {
  const matches = await findServicesByRef(db, ref);
  if (matches.length === 0) throw notFound("service", ref);
  if (matches.length > 1) throw new ApiError("conflict", `service reference ${ref} is ambiguous; give more of the id`);
  return matches[0]!;
}

/**
 * The one way a service's spec changes (PUT /v1/services/{id}, webhook redeploys):
 * the name and the mode must stay, ingress ports keep or get their numbers, and the
 * spec is written guarded on `current.version`. A lost compare-and-set throws
 * (isCasFailure): the caller answers 409 or re-reads and retries. The caller reconciles.
 */
export async function updateService(
  deps: Pick<AppDeps, "db" | "keys">,
  current: ServiceRow,
  requested: ServiceSpec,
  now: number,
  also: BatchItem<"sqlite">[] = [],
): Promise<ServiceRow> {
  if (requested.name !== current.name)
    throw new ApiError("validation_failed", `services cannot be renamed (${current.name} → ${requested.name})`, [
      { path: "body.name", message: `must stay ${current.name}` },
    ]);
  if (requested.mode !== current.mode)
    throw new ApiError("validation_failed", `the mode of a service cannot change (${current.mode} → ${requested.mode})`, [
      { path: "body.mode", message: `must stay ${current.mode}` },
    ]);
  const others = (await listServices(deps.db)).filter((s) => s.id !== current.id);
  const spec = assignIngressPorts(requested, others.map((s) => s.spec), current.spec);
  return updateServiceSpec(deps.db, deps.keys.clusterId, current, spec, now, also);
}
