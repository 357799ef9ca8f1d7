import { listFileObjects, type FileObjectRow } from "../db/file-objects.js";
import type { FileObjectKind } from "../db/schema/index.js";
import { fileObjectName } from "../domain/file-object.js";
import type { StackResource } from "../domain/stack.js";
import { stackNamespaceLabel } from "../stack/convert.js";
import { entriesToMapping } from "../stack/merge.js";
import type { AppDeps } from "../http/context.js";
import { ApiError, invalidField } from "../http/errors.js";
import { readFileObject } from "../http/file-object-data.js";
import { createFileObject, decodeFileObjectData, removeFileObject, sameBytes, type FileObjectRequest } from "./file-object-writes.js";

/**
 * A stack's secrets and configs, as docker stack deploy handles them: an
 * `external: true` one must exist; the stack's own (`<stack>_<key>`, or its
 * `name:`) is made from its `file:`, whose contents the caller sends by the
 * path written in the compose file (the CLI reads them), labelled with the
 * stack's namespace. They are immutable: a later deploy with the same
 * contents keeps the object, a changed one is refused, as Swarm refuses it.
 */

type Deps = Pick<AppDeps, "db" | "keys">;

export interface StackFileObjectCreate {
  kind: FileObjectKind;
  request: FileObjectRequest;
}

/**
 * Checks every secret and config the stack declares and answers those to
 * create; writes nothing. 404 for a missing external one, 400 for a missing
 * or unsent file, bad data or a changed file, 409 for a name another stack or
 * no stack has.
 */
export async function planStackFileObjects(deps: Deps, stack: string, resources: StackResource[], files: Record<string, string>): Promise<StackFileObjectCreate[]> {
  const stored = { secret: await listFileObjects(deps.db, "secret"), config: await listFileObjects(deps.db, "config") };
  const out: StackFileObjectCreate[] = [];
  for (const r of resources) {
    if (r.kind !== "secret" && r.kind !== "config") continue;
    const kind = r.kind;
    const at = `${kind}s.${r.key}`;
    const found = stored[kind].find((o) => o.name === r.name);
    if (r.external) {
      if (!found)
        throw new ApiError("not_found", `external ${kind} ${r.name} not found; create it first (shoal ${kind} create ${r.name} FILE)`, [{ path: at, message: `no such ${kind}` }]);
      continue;
    }
    const def = r.definition;
    for (const field of ["driver", "template_driver"] as const)
      if (def[field] !== undefined) throw invalidField(`${at}.${field}`, `${kind} ${field.replace("_", " ")}s are not supported; give the contents with file:`);
    if (typeof def.file !== "string") throw invalidField(at, `give the ${kind}'s contents with file: (or use one that exists with external: true)`);
    if (!fileObjectName.test(r.name))
      throw invalidField(at, `${r.name} is not a ${kind} name: up to 64 letters, digits, '_', '.' and '-', starting and ending with a letter or digit; shorten the key or give name:`);
    const data = files[def.file];
    if (data === undefined) throw invalidField(`${at}.file`, `the contents of ${def.file} were not sent (objectFiles, by the path as written); shoal stack deploy sends them`);
    const bytes = decodeFileObjectData(kind, data, `${at}.file`);
    if (found) {
      if (found.labels[stackNamespaceLabel] !== stack)
        throw new ApiError("conflict", `${kind} ${r.name} exists and is not part of stack ${stack}; remove or rename it first`, [{ path: at, message: `${r.name} belongs to no stack or another one` }]);
      if (!sameBytes(bytes, await readFileObject(deps, found)))
        throw invalidField(
          `${at}.file`,
          `${kind} ${r.name} exists with other contents than ${def.file}: only updates to labels are allowed, ${kind}s are immutable; give the new contents another name (name: ${r.name}_v2 under ${at}) and point the services at it`,
        );
      continue;
    }
    const labels = Object.fromEntries(Object.entries(entriesToMapping(def.labels ?? {})).map(([k, v]) => [k, v === null || v === undefined ? "" : String(v)]));
    out.push({ kind, request: { name: r.name, data, labels: { ...labels, [stackNamespaceLabel]: stack } } });
  }
  return out;
}

/** Creates what planStackFileObjects answered. */
export async function createStackFileObjects(deps: Deps, creates: StackFileObjectCreate[], now: number): Promise<void> {
  for (const c of creates) await createFileObject(deps, c.kind, c.request, now);
}

/**
 * Removes the stack's own secrets and configs (docker stack rm), after its
 * services; one a service outside the stack still uses stays, as docker
 * reports it and goes on. Answers the names kept.
 */
export async function removeStackFileObjects(deps: Deps, stack: string, now: number): Promise<string[]> {
  const kept: string[] = [];
  const own = (rows: FileObjectRow[]) => rows.filter((o) => o.labels[stackNamespaceLabel] === stack);
  for (const row of [...own(await listFileObjects(deps.db, "secret")), ...own(await listFileObjects(deps.db, "config"))]) {
    try {
      await removeFileObject(deps, row, now);
    } catch (err) {
      if (!(err instanceof ApiError) || (err.code !== "conflict" && err.code !== "not_found")) throw err;
      if (err.code === "conflict") kept.push(row.name);
    }
  }
  return kept;
}
