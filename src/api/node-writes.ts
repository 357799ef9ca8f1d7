import type { Db } from "../db/client.js";
import { isCasFailure } from "../db/cas.js";
import { deleteNode, findNodesByRef, updateNodeSpec, type NodeRow } from "../db/nodes.js";
import type { NodeAvailability, NodeRole } from "../domain/node.js";
import type { AppDeps } from "../http/context.js";
import { ApiError, notFound, versionConflict } from "../http/errors.js";

/**
 * The one way a node's spec is changed or a node removed: the node routes and
 * the Docker API's call these.
 */

type Deps = Pick<AppDeps, "db" | "keys">;

/** One node for a reference, or 404 / 409 (ambiguous) in the API's error shape. */
export async function resolveNode(db: Db, ref: string): Promise<NodeRow> {
  const matches = await findNodesByRef(db, ref);
  if (matches.length === 0) throw notFound("node", ref);
  if (matches.length > 1) throw new ApiError("conflict", `node reference ${ref} is ambiguous: it matches more than one node; give more of the id`);
  return matches[0]!;
}

export interface NodeChange {
  availability?: NodeAvailability;
  role?: NodeRole;
  /** The whole new label set. */
  labels?: Record<string, string>;
}

/** Changes `node` as read at `version`; a stale version gets 409. */
export async function changeNode(deps: Deps, node: NodeRow, version: number, change: NodeChange, now: number): Promise<NodeRow> {
  if (node.version !== version) throw versionConflict("node", node.id, version);
  try {
    return await updateNodeSpec(deps.db, deps.keys.clusterId, node.id, version, change, now);
  } catch (err) {
    if (isCasFailure(err)) throw versionConflict("node", node.id, version);
    throw err;
  }
}

/** Removes `node`; a ready one only when forced (409 otherwise). */
export async function removeNode(deps: Deps, node: NodeRow, force: boolean, now: number): Promise<void> {
  try {
    await deleteNode(deps.db, deps.keys.clusterId, node, force, now);
  } catch (err) {
    if (isCasFailure(err)) throw new ApiError("conflict", `node ${node.id} is ready and can't be removed: stop its agent first, or force the removal`);
    throw err;
  }
}
