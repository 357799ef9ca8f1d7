import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { ControlPlaneClient } from "./control-plane.js";

/**
 * `shoal-agent leave [-f]`, as `docker swarm leave [-f]`: the control plane
 * removes this node, then the stored credential is deleted, so that the next
 * join (another cluster's token) makes a new node. With `force`, a control
 * plane that can't be told does not stop it. Answers what to print.
 */
export async function leaveCluster(stateDir: string, url: string | undefined, force: boolean): Promise<string> {
  const path = join(stateDir, "credential.json");
  let stored: { url: string; nodeId: string; credential: string };
  try {
    stored = JSON.parse(await readFile(path, "utf8")) as typeof stored;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "This node is not part of a cluster (no credential in the state dir); nothing to leave.";
    throw err;
  }
  const controlPlane = url ?? stored.url;
  try {
    await new ControlPlaneClient(controlPlane, stored.credential).leave();
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    if (!force) throw new Error(`could not tell the control plane at ${controlPlane} (${why}); shoal-agent leave -f leaves anyway (then remove the node there: shoal node rm -f ${stored.nodeId})`);
    await rm(path, { force: true });
    return `Node ${stored.nodeId} left (forced: the control plane at ${controlPlane} was not told: ${why}).`;
  }
  await rm(path, { force: true });
  return `Node ${stored.nodeId} left the cluster at ${controlPlane}.`;
}
