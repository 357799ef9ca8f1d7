import { isDesiredUp } from "../../src/domain/task-states.js";
import type { Assignment } from "../../src/protocol/agent-v1.js";
import { labels, type ResolvedAttachment } from "./container-spec.js";
import { TaskController, removeContainer } from "./controller.js";
import type { ContainerSummary } from "./docker/client.js";
import type { Engine } from "./engine.js";
import type { Logger } from "./log.js";
import type { ReadyNetwork } from "./network/reconciler.js";
import type { Report } from "./reporter.js";
import type { SecretFiles } from "./task-files.js";

/** What a sync does for one task (or for a container no assignment names). */
export type SyncAction =
  | { kind: "run"; assignment: Assignment }
  | { kind: "wait"; assignment: Assignment; containerId: string }
  | { kind: "shutdown"; assignment: Assignment; container: ContainerSummary | undefined }
  | { kind: "remove-orphan"; taskId: string; containerId: string };

/**
 * Assignments and the engine's shoal containers → what to do, per task. Pure.
 * A task that should run gets started, or watched once it has a container; one
 * that should not is stopped and removed; `ready` tasks are left as they are;
 * containers of tasks no longer assigned are removed, except the stopped ones of
 * tasks that ended and are still in the task history (`ended`), kept for their
 * logs as Swarm keeps them. Tasks in `busy` are skipped: a step of theirs is
 * still under way. A task whose overlay networks this host has not set up yet
 * waits (`networksReady`).
 */
export function planSync(
  assignments: Iterable<Assignment>,
  containers: ReadonlyMap<string, ContainerSummary>,
  busy: ReadonlySet<string>,
  networksReady: (a: Assignment) => boolean = () => true,
  ended: ReadonlySet<string> = new Set(),
): SyncAction[] {
  const actions: SyncAction[] = [];
  const assigned = new Set<string>();
  for (const a of assignments) {
    assigned.add(a.id);
    if (busy.has(a.id)) continue;
    const c = containers.get(a.id);
    if (a.desiredState === "running") {
      if (c) actions.push({ kind: "wait", assignment: a, containerId: c.Id });
      else if (networksReady(a)) actions.push({ kind: "run", assignment: a });
    }
    else if (!isDesiredUp(a.desiredState)) actions.push({ kind: "shutdown", assignment: a, container: c });
  }
  for (const [taskId, c] of containers)
    if (!assigned.has(taskId) && !busy.has(taskId) && !(ended.has(taskId) && c.State !== "running"))
      actions.push({ kind: "remove-orphan", taskId, containerId: c.Id });
  return actions;
}

/** A container no assignment names gets this long to stop. */
const orphanStopSeconds = 10;

/**
 * The worker: keeps the node's assignments (the desired state of each task)
 * and makes the engine match them through one controller per task. Syncs
 * never overlap; one asked for during a sync runs right after it.
 */
export class Worker {
  /** Undefined until the dispatcher first answered: until then every container would look like an orphan. */
  private assignments: Map<string, Assignment> | undefined;
  private readonly busy = new Set<string>();
  private syncing: Promise<void> | undefined;
  private syncAgain = false;
  private ended: ReadonlySet<string> = new Set();

  constructor(
    private readonly docker: Engine,
    private readonly nodeId: string,
    private readonly report: Report,
    private readonly log: Logger,
    /** Whether to keep syncing (false once the agent stops). */
    private readonly active: () => boolean = () => true,
    /** Overlay networks this host has set up (none without a network reconciler). */
    private readonly networks: (networkId: string) => ReadyNetwork | undefined = () => undefined,
    /** Where tasks' secrets are kept in memory while their containers exist. */
    private readonly secretFiles?: SecretFiles,
  ) {}

  /** The assignments held (the DNS responder scopes names by their tasks' addresses). */
  get tasks(): Assignment[] {
    return [...(this.assignments?.values() ?? [])];
  }

  private resolve(a: Assignment): ResolvedAttachment[] | undefined {
    const resolved: ResolvedAttachment[] = [];
    for (const at of a.attachments) {
      const n = this.networks(at.networkId);
      if (!n) return undefined;
      resolved.push({ networkId: at.networkId, dockerName: n.dockerName, nodeIp: n.nodeIp, ip: at.ip });
    }
    return resolved;
  }

  /** Ended tasks whose stopped containers stay; a change (a task deleted from the history) syncs. */
  keepEnded(taskIds: string[]): void {
    const next = new Set(taskIds);
    if (next.size === this.ended.size && taskIds.every((id) => this.ended.has(id))) return;
    this.ended = next;
    this.nudge();
  }

  /** Takes a new set of assignments (the dispatcher's whole answer) and syncs. */
  assign(tasks: Assignment[]): void {
    this.assignments = new Map(tasks.map((t) => [t.id, t]));
    this.nudge();
  }

  /** Asks for a sync (an engine event, the periodic resync, new assignments); none before the first assignments. */
  nudge(): void {
    if (!this.assignments) return;
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = (async () => {
      do {
        this.syncAgain = false;
        try {
          await this.sync();
        } catch (err) {
          this.log.warn("sync failed", { error: String(err) });
        }
      } while (this.syncAgain && this.active());
      this.syncing = undefined;
    })();
  }

  /** Resolves once no sync runs. */
  async idle(): Promise<void> {
    while (this.syncing) await this.syncing;
  }

  private async sync(): Promise<void> {
    if (!this.assignments) return;
    const containers = new Map<string, ContainerSummary>();
    for (const c of await this.docker.listContainers({ all: true, labelFilters: [labels.task] })) containers.set(c.Labels[labels.task]!, c);
    const ready = (a: Assignment) => this.resolve(a) !== undefined;
    await Promise.all(planSync(this.assignments.values(), containers, this.busy, ready, this.ended).map((action) => this.guard(action)));
    // A task's secrets live as long as its container, or while it is assigned or being worked on; an ended task's kept container has none.
    const live = [...containers.keys()].filter((taskId) => !this.ended.has(taskId) || this.assignments?.has(taskId));
    await this.secretFiles?.prune(new Set([...live, ...this.assignments.keys(), ...this.busy]));
  }

  private async guard(action: SyncAction): Promise<void> {
    const taskId = action.kind === "remove-orphan" ? action.taskId : action.assignment.id;
    this.busy.add(taskId);
    try {
      await this.perform(action);
    } catch (err) {
      this.log.warn("task step failed", { task: taskId, error: String(err) });
    } finally {
      this.busy.delete(taskId);
    }
  }

  private async perform(action: SyncAction): Promise<void> {
    if (action.kind === "remove-orphan") {
      await this.docker.stopContainer(action.containerId, orphanStopSeconds).catch(() => undefined);
      await removeContainer(this.docker, action.containerId);
      return this.secretFiles?.remove(action.taskId);
    }
    const controller = new TaskController(action.assignment, this.docker, this.nodeId, this.report, this.resolve(action.assignment) ?? [], this.secretFiles);
    if (action.kind === "run") return controller.run();
    if (action.kind === "wait") return controller.wait(action.containerId);
    const c = action.container;
    if (c?.State === "running") await controller.shutdown(c.Id);
    return controller.remove(c?.Id);
  }
}
