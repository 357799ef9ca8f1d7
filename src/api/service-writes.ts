import { isCasFailure, isUniqueViolation, retryOnConflict } from "../db/cas.js";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../db/client.js";
import { deleteService, findServicesByRef, insertService, listServices, rollbackService, updateServiceSpec, type ServiceRow } from "../db/services.js";
import { newId } from "../ids.js";
import { sealRegistryAuth } from "../auth/secret-box.js";
import { putServiceRegistryAuth } from "../db/registry-auths.js";
import type { RegistryAuth } from "../domain/registry-auth.js";
import type { ServiceSpec } from "../domain/service-spec.js";
import type { AppDeps } from "../http/context.js";
import { ApiError, notFound, versionConflict } from "../http/errors.js";
import { assignIngressPorts } from "./ingress-ports.js";
import { resolveFileReferences } from "./file-object-writes.js";
import { resolveAttachments } from "./network-writes.js";

/**
 * The one way a service is created, has its spec replaced or is removed:
 * the service routes and stack deploys call these. They write desired state
 * only; the caller reconciles once it has made all its changes.
 */

type Deps = Pick<AppDeps, "db" | "keys">;

/**
 * The registry credentials a write carries (X-Registry-Auth): undefined keeps
 * the stored ones, as Swarm does for an update without the header; null
 * removes them (the header carried no credential).
 */
export type RegistryAuthChange = RegistryAuth | null | undefined;

/** The statement that stores a credential change, sealed and bound to the service; none when it keeps them. */
async function registryAuthStatements(deps: Deps, serviceId: string, change: RegistryAuthChange): Promise<BatchItem<"sqlite">[]> {
  if (change === undefined) return [];
  return [putServiceRegistryAuth(deps.db, serviceId, change && (await sealRegistryAuth(deps.keys, serviceId, change)))];
}

/** Stores a credential change alone: a stack deploy that leaves the service's spec as it is. */
export async function storeRegistryAuth(deps: Deps, serviceId: string, change: RegistryAuthChange): Promise<void> {
  const [statement] = await registryAuthStatements(deps, serviceId, change);
  if (statement) await deps.db.batch([statement]);
}

/** A service by what a user typed (id, unique id prefix or name); 404 / 409 otherwise. */
export async function resolveService(db: Db, ref: string): Promise<ServiceRow> {
  const matches = await findServicesByRef(db, ref);
  if (matches.length === 0) throw notFound("service", ref);
  if (matches.length > 1) throw new ApiError("conflict", `service reference ${ref} is ambiguous; give more of the id`);
  return matches[0]!;
}

export async function createService(deps: Deps, requested: ServiceSpec, now: number, registryAuth?: RegistryAuthChange): Promise<ServiceRow> {
  return retryOnConflict(async () => {
    const others = await listServices(deps.db);
    if (others.some((s) => s.name === requested.name))
      throw new ApiError("conflict", `a service named ${requested.name} already exists`, [{ path: "body.name", message: "name in use" }]);
    const spec = assignIngressPorts(await resolveAttachments(deps.db, await resolveFileReferences(deps.db, requested)), others.map((s) => s.spec));
    const service: ServiceRow = { id: newId("svc"), name: spec.name, version: 1, createdAt: now, updatedAt: now, mode: spec.mode, spec, previousSpec: null, updateStatus: null };
    try {
      await insertService(deps.db, deps.keys.clusterId, service, await registryAuthStatements(deps, service.id, registryAuth ?? undefined));
    } catch (err) {
      if (isUniqueViolation(err)) throw new ApiError("conflict", `a service named ${spec.name} already exists`);
      throw err;
    }
    return service;
  });
}

/** The spec a replacement would store: networks by id, ingress ports numbered, keeping the numbers `current` has. */
export async function specReplacing(deps: Deps, current: ServiceRow, requested: ServiceSpec): Promise<ServiceSpec> {
  const others = (await listServices(deps.db)).filter((s) => s.id !== current.id);
  return assignIngressPorts(await resolveAttachments(deps.db, await resolveFileReferences(deps.db, requested)), others.map((s) => s.spec), current.spec);
}

/**
 * Writes a new spec for `current` as read: the name and mode must stay, ingress
 * ports keep or get their numbers. `also`: statements to commit with it. A
 * concurrent change makes it throw a CAS failure (isCasFailure), for callers
 * that re-read and retry; replaceServiceSpec answers 409 instead.
 */
export async function writeServiceSpec(deps: Deps, current: ServiceRow, requested: ServiceSpec, now: number, also: BatchItem<"sqlite">[] = []): Promise<ServiceRow> {
  if (requested.name !== current.name)
    throw new ApiError("validation_failed", `services cannot be renamed (${current.name} → ${requested.name})`, [
      { path: "body.name", message: `must stay ${current.name}` },
    ]);
  if (requested.mode !== current.mode)
    throw new ApiError("validation_failed", `the mode of a service cannot change (${current.mode} → ${requested.mode})`, [
      { path: "body.mode", message: `must stay ${current.mode}` },
    ]);
  const spec = await specReplacing(deps, current, requested);
  return updateServiceSpec(deps.db, deps.keys.clusterId, current, spec, now, also);
}

/** Replaces the spec of `current` as read, and its registry credentials as asked; a concurrent change gets 409. */
export async function replaceServiceSpec(deps: Deps, current: ServiceRow, requested: ServiceSpec, now: number, registryAuth?: RegistryAuthChange): Promise<ServiceRow> {
  try {
    return await writeServiceSpec(deps, current, requested, now, await registryAuthStatements(deps, current.id, registryAuth));
  } catch (err) {
    if (isCasFailure(err)) throw versionConflict("service", current.id, current.version);
    throw err;
  }
}

/** docker service rollback of `current` as read (its registry credentials kept unless a change is given); a concurrent change gets 409. */
export async function rollBackService(deps: Deps, current: ServiceRow, now: number, registryAuth?: RegistryAuthChange): Promise<ServiceRow> {
  if (!current.previousSpec) throw new ApiError("conflict", `service ${current.name} has no previous spec to roll back to`);
  try {
    return await rollbackService(deps.db, deps.keys.clusterId, current, current.previousSpec, now, await registryAuthStatements(deps, current.id, registryAuth));
  } catch (err) {
    if (isCasFailure(err)) throw versionConflict("service", current.id, current.version);
    throw err;
  }
}

export async function removeService(deps: Deps, service: ServiceRow, now: number): Promise<void> {
  try {
    await deleteService(deps.db, deps.keys.clusterId, service, now);
  } catch (err) {
    // The guarded delete found nothing: removed concurrently.
    if (isCasFailure(err)) throw notFound("service", service.id);
    throw err;
  }
}
