import { sealBytes } from "../auth/secret-box.js";
import { isCasFailure, isUniqueViolation } from "../db/cas.js";
import type { Db } from "../db/client.js";
import { deleteFileObject, findFileObjectsByRef, insertFileObject, listFileObjects, updateFileObjectLabels, type FileObjectRow } from "../db/file-objects.js";
import type { FileObjectKind } from "../db/schema/index.js";
import { listServices, type ServiceRow } from "../db/services.js";
import { maxFileObjectBytes } from "../domain/file-object.js";
import type { ServiceSpec } from "../domain/service-spec.js";
import { newId } from "../ids.js";
import type { AppDeps } from "../http/context.js";
import { ApiError, invalidField, notFound } from "../http/errors.js";
import { decodeBase64, readFileObject } from "../http/file-object-data.js";

/**
 * The one way a secret or config is created, removed, read back and referred
 * to: the secret and config routes, service writes and stacks call these. A
 * secret's plain bytes exist only in a request being handled and in the
 * assignment of a task that needs it; nothing here logs them.
 */

type Deps = Pick<AppDeps, "db" | "keys">;

export interface FileObjectRequest {
  name: string;
  /** base64 */
  data: string;
  labels: Record<string, string>;
}

/** The longest base64 text of at most maxFileObjectBytes bytes. */
export const maxFileObjectBase64 = 4 * Math.ceil(maxFileObjectBytes / 3);

export async function resolveFileObject(db: Db, kind: FileObjectKind, ref: string): Promise<FileObjectRow> {
  const matches = await findFileObjectsByRef(db, kind, ref);
  if (matches.length === 0) throw notFound(kind, ref);
  if (matches.length > 1) throw new ApiError("conflict", `${kind} reference ${ref} is ambiguous; give more of the id`);
  return matches[0]!;
}

/** A secret's or config's bytes from base64; 400 at `path` for text that is not base64, or bytes empty or over Swarm's 500 KiB. */
export function decodeFileObjectData(kind: FileObjectKind, data: string, path = "body.data"): Uint8Array {
  const bytes = decodeBase64(data, path);
  if (bytes.length === 0 || bytes.length > maxFileObjectBytes)
    throw invalidField(path, `${kind} data must be from 1 byte to ${maxFileObjectBytes} bytes (500 KiB), not ${bytes.length}`);
  return bytes;
}

/** Creates a secret or config; 400 for data that is not base64, empty or over Swarm's 500 KiB, 409 for a name in use. */
export async function createFileObject(deps: Deps, kind: FileObjectKind, req: FileObjectRequest, now: number): Promise<FileObjectRow> {
  const bytes = decodeFileObjectData(kind, req.data);
  const id = newId(kind === "secret" ? "sec" : "cfg");
  const data = kind === "secret" ? await sealBytes(deps.keys, "shoal swarm secrets", id, bytes) : req.data;
  const row: FileObjectRow = { id, kind, name: req.name, version: 1, createdAt: now, updatedAt: now, labels: req.labels, data, size: bytes.length };
  const taken = () => new ApiError("conflict", `a ${kind} named ${req.name} already exists`, [{ path: "body.name", message: "name in use" }]);
  if ((await findFileObjectsByRef(deps.db, kind, req.name)).some((o) => o.name === req.name)) throw taken();
  try {
    await insertFileObject(deps.db, row);
  } catch (err) {
    if (isUniqueViolation(err)) throw taken();
    throw err;
  }
  return row;
}

/** Whether two byte strings are equal (a stored object and what a caller sends again). */
export const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Changes the labels of a secret or config, the one thing Swarm lets change:
 * a name or data that differ from the stored ones are refused (docker stack
 * deploy sends the unchanged data again, which is accepted). `version`: the
 * one the caller read (409 when it moved on).
 */
export async function updateFileObject(
  deps: Deps,
  row: FileObjectRow,
  version: number,
  change: { name?: string; data?: string; labels: Record<string, string> },
  now: number,
): Promise<FileObjectRow> {
  if (row.version !== version)
    throw new ApiError("version_conflict", `update out of sequence: ${row.kind} ${row.name} is at version ${row.version}, not ${version}; read it again and retry`);
  const immutable = (field: string) => invalidField(field, `only updates to labels are allowed: a ${row.kind}'s ${field.slice("body.".length)} cannot change; create a new ${row.kind} under another name and point the service at it`);
  if (change.name !== undefined && change.name !== row.name) throw immutable("body.name");
  if (change.data !== undefined && change.data !== "" && !sameBytes(decodeBase64(change.data), await readFileObject(deps, row))) throw immutable("body.data");
  try {
    return await updateFileObjectLabels(deps.db, row, change.labels, now);
  } catch (err) {
    if (isCasFailure(err)) throw new ApiError("version_conflict", `update out of sequence: ${row.kind} ${row.name} changed meanwhile; read it again and retry`);
    throw err;
  }
}

const referencesOf = (spec: ServiceSpec, kind: FileObjectKind) => (kind === "secret" ? spec.task.secrets : spec.task.configs);

export const servicesUsing = (services: ServiceRow[], row: FileObjectRow) => services.filter((s) => referencesOf(s.spec, row.kind).some((r) => r.id === row.id));

/** Removes a secret or config no service uses (409 while one does). */
export async function removeFileObject(deps: Deps, row: FileObjectRow, now: number): Promise<void> {
  const users = servicesUsing(await listServices(deps.db), row);
  if (users.length)
    throw new ApiError("conflict", `${row.kind} ${row.name} is in use by service${users.length > 1 ? "s" : ""} ${users.map((s) => s.name).join(", ")}`);
  try {
    await deleteFileObject(deps.db, row, now);
  } catch (err) {
    // The guarded delete found nothing: removed concurrently.
    if (isCasFailure(err)) throw notFound(row.kind, row.id);
    throw err;
  }
}

/**
 * The spec with each secret and config reference resolved to its stored
 * object (source: its name, id: its id); an unknown one is a 404 naming the
 * reference's path.
 */
export async function resolveFileReferences(db: Db, spec: ServiceSpec): Promise<ServiceSpec> {
  const resolve = async (kind: FileObjectKind) => {
    const refs = referencesOf(spec, kind);
    if (refs.length === 0) return refs;
    const all = await listFileObjects(db, kind);
    return refs.map((r, i) => {
      const path = `body.task.${kind}s.${i}.source`;
      const exact = all.find((o) => o.id === r.source) ?? all.find((o) => o.name === r.source);
      const matches = exact ? [exact] : all.filter((o) => o.id.startsWith(r.source));
      if (matches.length === 0) throw new ApiError("not_found", `${kind} ${r.source} not found`, [{ path, message: `no such ${kind}; see GET /v1/${kind}s` }]);
      if (matches.length > 1) throw new ApiError("conflict", `${kind} reference ${r.source} is ambiguous`, [{ path, message: "give more of the id" }]);
      return { ...r, source: matches[0]!.name, id: matches[0]!.id };
    });
  };
  const [secrets, configs] = [await resolve("secret"), await resolve("config")];
  return { ...spec, task: { ...spec.task, secrets, configs } };
}
