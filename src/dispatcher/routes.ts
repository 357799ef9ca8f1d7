import type { ClusterRow } from "../db/cluster.js";
import { createRoute } from "@hono/zod-openapi";
import { nodeCredentialLifetimeMs, signNodeCredential } from "../auth/credentials.js";
import { retryOnConflict, won } from "../db/cas.js";
import {
  getNode,
  deleteNode,
  getNodeByMachineId,
  heartbeatNode,
  insertNode,
  rejoinNode,
  type NodeDescription,
  type NodeRow,
} from "../db/nodes.js";
import { applyTaskStatus, listNodeAssignments, listNodeEndedTaskIds } from "../db/tasks.js";
import type { Context } from "hono";
import { access } from "../http/access.js";
import { reconciled } from "../http/pipeline.js";
import type { AppDeps, AppEnv } from "../http/context.js";
import { ApiError } from "../http/errors.js";
import { bearer, errorResponses, jsonBody, jsonResponse } from "../http/openapi.js";
import { newRouter } from "../http/router.js";
import { newId } from "../ids.js";
import {
  AssignmentsQuery,
  type Assignment,
  Assignments,
  type FileData,
  Heartbeat,
  HeartbeatAck,
  JoinRequest,
  Joined,
  StatusApplied,
  StatusReport,
  agentV1Paths,
  type NodeDescription as AgentNodeDescription,
} from "../protocol/agent-v1.js";
import { effectiveHeartbeatPeriodMs, leaseExpiresAt } from "../domain/liveness.js";
import { attachmentsOf, buildNetworkDocument, NetworkIndex } from "./network-document.js";
import { readNetworkView, wakeNetworkMembers, type NetworkView } from "../db/networks.js";
import { canOverlay } from "../domain/network.js";
import { isDesiredUp } from "../domain/task-states.js";
import { listFileObjectsById } from "../db/file-objects.js";
import { encodeBase64, readFileObject } from "../http/file-object-data.js";
import { deliversRegistryAuth, filesToDeliver } from "./file-delivery.js";
import { listServiceRegistryAuths } from "../db/registry-auths.js";
import { openRegistryAuth } from "../auth/secret-box.js";
import type { RegistryAuth } from "../domain/registry-auth.js";
import { nodeRelaySessions } from "./log-routes.js";

function toDescription(d: AgentNodeDescription): NodeDescription {
  return {
    machineId: d.machineId,
    hostname: d.hostname,
    os: d.platform.os,
    architecture: d.platform.architecture,
    nanoCpus: d.resources.nanoCpus,
    memoryBytes: d.resources.memoryBytes,
    engineVersion: d.engine.version,
    engineLabels: d.engine.labels,
    addr: d.addr,
    overlay: d.overlay ?? null,
  };
}

/**
 * Reads and opens the stored secrets and configs of the given ids (one that
 * no longer exists is left out): a secret is decrypted here, for the
 * assignment being answered, and nowhere else.
 */
async function openFileObjects(deps: AppDeps, ids: string[]) {
  const out = new Map<string, { kind: "secret" | "config"; file: FileData }>();
  for (const row of await listFileObjectsById(deps.db, [...new Set(ids)]))
    out.set(row.id, { kind: row.kind, file: { id: row.id, name: row.name, data: encodeBase64(await readFileObject(deps, row)) } });
  return out;
}

/**
 * The registry credentials of the services of these tasks (those that have
 * some), opened for the assignment being answered and nowhere else.
 */
async function openRegistryAuths(deps: AppDeps, tasks: { serviceId: string }[]): Promise<Map<string, RegistryAuth>> {
  const out = new Map<string, RegistryAuth>();
  for (const [serviceId, sealed] of await listServiceRegistryAuths(deps.db, tasks.map((t) => t.serviceId)))
    out.set(serviceId, await openRegistryAuth(deps.keys, serviceId, sealed));
  return out;
}

const emptyView: NetworkView = { networks: [], allocations: [], nodes: [], services: [], tasks: [] };

/**
 * A waiting poll re-reads the store for writes the in-process notifier cannot see (another
 * control plane, another Workers isolate) this often, and less often in a large cluster, so
 * that the re-reads of all nodes' polls together stay under `maxHeartbeatsPerSecond` too.
 */
const storeRecheckMs = (c: ClusterRow) => Math.max(1000, Math.ceil((c.nodeCount * 1000) / c.maxHeartbeatsPerSecond));

/** The dispatcher's agent-facing routes: join, heartbeats, the assignment long-poll, status reports and leaving. */
export function dispatcherRoutes(deps: AppDeps) {
  const app = newRouter();

  /**
   * Records a heartbeat of the calling node (its lease, and its description when
   * sent) and answers when to call next, with a renewed credential in the
   * second half of the current one's life.
   */
  async function beat(c: Context<AppEnv>, body: Heartbeat = {}) {
    const { description, engineDown, networkIssues } = body;
    const credential = c.get("credential");
    if (credential.kind !== "node") throw new Error("agent route reached without a node credential");
    const cluster = c.get("cluster");
    const now = c.get("now");
    let node = c.get("node")!;
    await retryOnConflict(async () => {
      try {
        await heartbeatNode(
          deps.db,
          cluster.id,
          node,
          now,
          leaseExpiresAt(cluster, now),
          description && toDescription({ ...description, machineId: node.machineId }),
          engineDown,
          networkIssues,
        );
      } catch (err) {
        // Lost a compare-and-set (an admin update, a concurrent heartbeat): re-read, unless revoked meanwhile.
        const fresh = await getNode(deps.db, node.id);
        if (fresh?.credentialGeneration !== node.credentialGeneration)
          throw new ApiError("unauthorized", "revoked credential: the node was removed or joined again");
        node = fresh;
        throw err;
      }
    });
    // A node that came back, or whose engine went away, changes what the orchestrator wants.
    const state = engineDown ? ("down" as const) : ("ready" as const);
    if (node.state !== state) await c.var.afterWrite();
    const renew = credential.expiresAt - now < nodeCredentialLifetimeMs / 2;
    return {
      nodeId: node.id,
      state,
      heartbeatPeriodMs: effectiveHeartbeatPeriodMs(cluster),
      ...(renew ? { credential: await signNodeCredential(deps.keys, node.id, node.credentialGeneration, now) } : {}),
    };
  }

  app.openapi(
    createRoute({
      method: "post",
      path: agentV1Paths.join,
      tags: ["agent"],
      summary: "Join the cluster with a join token",
      description: "Answers a node credential. The same machine joining again keeps its node and gets a new credential.",
      security: bearer,
      middleware: [access(deps, "join"), reconciled(deps)],
      request: { body: jsonBody(JoinRequest) },
      responses: {
        200: jsonResponse(Joined, "Re-joined an existing node"),
        201: jsonResponse(Joined, "Joined as a new node"),
        ...errorResponses,
      },
    }),
    async (c) => {
      const credential = c.get("credential");
      if (credential.kind !== "join") throw new Error("join route reached without a join token");
      const { role, description } = c.req.valid("json");
      if (role && role !== credential.role)
        throw new ApiError("forbidden", `a ${credential.role} join token cannot join as a ${role}`);
      const cluster = c.get("cluster");
      const now = c.get("now");
      const lease = leaseExpiresAt(cluster, now);
      const desc = toDescription(description);
      const { node, created } = await retryOnConflict(async () => {
        const existing = await getNodeByMachineId(deps.db, desc.machineId);
        if (existing) return { node: await rejoinNode(deps.db, cluster.id, existing, desc, now, lease), created: false };
        const row: NodeRow = {
          ...desc,
          id: newId("node"),
          version: 1,
          createdAt: now,
          updatedAt: now,
          role: credential.role,
          availability: "active",
          labels: {},
          state: "ready",
          stateMessage: "",
          lastHeartbeatAt: now,
          leaseExpiresAt: lease,
          networkIssues: [],
          credentialGeneration: 1,
          assignmentGeneration: 0,
        };
        await insertNode(deps.db, cluster.id, row);
        return { node: row, created: true };
      });
      // A node that joins (or comes back) is where pending tasks and global services go: placed before the answer.
      await c.var.afterWrite();
      const body = {
        nodeId: node.id,
        credential: await signNodeCredential(deps.keys, node.id, node.credentialGeneration, now),
        heartbeatPeriodMs: effectiveHeartbeatPeriodMs(cluster),
      };
      return created ? c.json(body, 201) : c.json(body, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: agentV1Paths.heartbeat,
      tags: ["agent"],
      summary: "Report that the node is alive",
      security: bearer,
      middleware: [access(deps, "node"), reconciled(deps)],
      request: { body: { ...jsonBody(Heartbeat), required: false } },
      responses: { 200: jsonResponse(HeartbeatAck, "Alive; call again within the period"), ...errorResponses },
    }),
    async (c) => c.json(await beat(c, c.req.valid("json")), 200),
  );

  app.openapi(
    createRoute({
      method: "get",
      path: agentV1Paths.assignments,
      tags: ["agent"],
      summary: "Long-poll the node's assignments (also its heartbeat)",
      description:
        "Answers at once when the node's assignments differ from `since`, else when they change or after `waitMs` (at most one heartbeat period). Only this node's tasks, with their specs.",
      security: bearer,
      middleware: [access(deps, "node"), reconciled(deps)],
      request: { query: AssignmentsQuery },
      responses: { 200: jsonResponse(Assignments, "The node's assignments"), ...errorResponses },
    }),
    async (c) => {
      const { since, netSince, waitMs, logSince } = c.req.valid("query");
      const ack = await beat(c);
      const nodeId = ack.nodeId;
      const overlay = canOverlay(c.get("node")!.overlay);
      const deadline = performance.now() + Math.min(waitMs ?? ack.heartbeatPeriodMs, ack.heartbeatPeriodMs);
      c.get("extendTimeLimit")(deadline - performance.now());
      let generation = c.get("node")!.assignmentGeneration;
      // An agent holding a stale document (it missed a wake-up, or restarted) gets the new one at once.
      // The view read for this check serves the answer too when the poll does not wait.
      let read: NetworkIndex | undefined;
      const stale = async () => {
        if (!overlay || netSince === undefined) return false;
        read = new NetworkIndex(await readNetworkView(deps.db));
        const doc = await buildNetworkDocument(read, nodeId);
        return doc !== undefined && doc.token !== netSince;
      };
      // A log session opened or closed, or a command to run, for this node answers at once too (agents that pass `logSince`).
      let logs = await nodeRelaySessions(deps.db, nodeId, c.get("now"));
      const logsChanged = () => logSince !== undefined && logs.token !== logSince;
      let changed = generation !== since || logsChanged() || (await stale());
      while (!changed && performance.now() < deadline) {
        read = undefined;
        await deps.notifier.wait(nodeId, Math.min(deadline - performance.now(), storeRecheckMs(c.get("cluster"))));
        const fresh = await getNode(deps.db, nodeId);
        if (!fresh) throw new ApiError("unauthorized", "revoked credential: the node was removed");
        generation = fresh.assignmentGeneration;
        logs = await nodeRelaySessions(deps.db, nodeId, deps.clock.now());
        changed = generation !== since || logsChanged();
      }
      const [assignments, ended] = await Promise.all([listNodeAssignments(deps.db, nodeId), listNodeEndedTaskIds(deps.db, nodeId)]);
      // Nodes that take no part in overlays need no view of the networks.
      const index = read ?? new NetworkIndex(overlay ? await readNetworkView(deps.db) : emptyView);
      const network = overlay ? await buildNetworkDocument(index, nodeId) : undefined;
      const tasks: Assignment[] = [];
      const wanted = new Map(assignments.map((a) => [a.task.id, filesToDeliver(a.task, a.spec)]));
      const data = await openFileObjects(deps, [...wanted.values()].flatMap((w) => [...w.secretIds, ...w.configIds]));
      const delivered = (ids: string[] | undefined, kind: "secret" | "config") => (ids ?? []).flatMap((id) => (data.get(id)?.kind === kind ? [data.get(id)!.file] : []));
      const pulling = assignments.filter((a) => deliversRegistryAuth(a.task)).map((a) => a.task);
      const registryAuths = pulling.length ? await openRegistryAuths(deps, pulling) : new Map<string, RegistryAuth>();
      for (const { task, serviceName, spec } of assignments) {
        const attachments = attachmentsOf(index, task.id, spec, overlay);
        // A task to run whose addresses are not allocated yet waits for them (the next reconcile gives them). One the agent
        // already took goes as it is: left out of the answer, its container would be removed as no longer assigned.
        if (!attachments && isDesiredUp(task.desiredState) && task.state === "assigned") continue;
        tasks.push({
          id: task.id,
          containerName: `${serviceName}.${task.slot ?? task.nodeId}.${task.id}`,
          serviceId: task.serviceId,
          serviceName,
          slot: task.slot,
          desiredState: task.desiredState,
          state: task.state,
          spec,
          attachments: attachments ?? [],
          secrets: delivered(wanted.get(task.id)?.secretIds, "secret"),
          configs: delivered(wanted.get(task.id)?.configIds, "config"),
          ...(deliversRegistryAuth(task) && registryAuths.has(task.serviceId) ? { registryAuth: registryAuths.get(task.serviceId)! } : {}),
        });
      }
      return c.json({ ...ack, generation, tasks, logs: logs.sessions, execs: logs.execs, logToken: logs.token, ended, ...(network && network.token !== netSince ? { network } : {}) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: agentV1Paths.status,
      tags: ["agent"],
      summary: "Report the observed state of the node's tasks",
      description: "States only move forward; reports of other nodes' tasks and backward moves are ignored.",
      security: bearer,
      middleware: [access(deps, "node"), reconciled(deps)],
      request: { body: jsonBody(StatusReport) },
      responses: { 200: jsonResponse(StatusApplied, "How many reports changed a task"), ...errorResponses },
    }),
    async (c) => {
      const now = c.get("now");
      const nodeId = c.get("node")!.id;
      const { updates } = c.req.valid("json");
      const applied = await retryOnConflict(() => applyTaskStatus(deps.db, nodeId, updates, now));
      if (applied > 0) {
        // A task that starts or stops running comes into or goes out of its networks' endpoints on every member.
        deps.notifier.notify(await wakeNetworkMembers(deps.db, [...new Set(updates.map((u) => u.taskId))]));
        await c.var.afterWrite();
      }
      return c.json({ applied }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "post",
      path: agentV1Paths.leave,
      tags: ["agent"],
      summary: "Leave the cluster (shoal-agent leave)",
      description: "Removes the calling node, as `docker node rm --force` would: its credential stops working at once.",
      security: bearer,
      middleware: [access(deps, "node"), reconciled(deps)],
      responses: { 204: { description: "Left" }, ...errorResponses },
    }),
    async (c) => {
      // Lost only to another removal of the same node: it is gone either way.
      await won(deleteNode(deps.db, deps.keys.clusterId, c.get("node")!, true, c.get("now")));
      await c.var.afterWrite();
      return c.body(null, 204);
    },
  );

  return app;
}
