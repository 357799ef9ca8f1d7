import type { Assignment } from "../../src/protocol/agent-v1.js";
import { containerCreateBody, labels, type ResolvedAttachment } from "./container-spec.js";
import { DockerError, isConflict, isNotFound } from "./docker/client.js";
import type { Engine } from "./engine.js";
import type { Report } from "./reporter.js";
import { planTaskFiles, tarFiles, type SecretFiles } from "./task-files.js";

const errorText = (err: unknown) => String(err instanceof Error ? err.message : err);

/**
 * The controller of one task on this host, SwarmKit's steps: prepare (image,
 * volumes, container), start, wait (observe what the container does),
 * shutdown, remove. Each step is idempotent: run again, it finds its work
 * done and goes on. It reports each state it sees; it never decides what the
 * task should do (the worker does, from the assignment).
 */
export class TaskController {
  constructor(
    private readonly a: Assignment,
    private readonly docker: Engine,
    private readonly nodeId: string,
    private readonly report: Report,
    /** The task's overlay attachments, resolved on this host (the worker runs the task only once they are set up). */
    private readonly attachments: ResolvedAttachment[] = [],
    /** Where this host keeps tasks' secrets in memory (none: a task with secrets is rejected). */
    private readonly secretFiles?: SecretFiles,
  ) {}

  private get stopTimeoutSeconds(): number {
    return Math.ceil(this.a.spec.task.container.stopGracePeriodMs / 1000);
  }

  /** accepted → preparing → ready → starting → running, for a task with no container; a step that fails rejects the task. */
  async run(): Promise<void> {
    try {
      this.report(this.a.id, "accepted");
      this.report(this.a.id, "preparing");
      const { id, created } = await this.prepare();
      // A container prepared by an earlier run of the agent goes on from the state it is in.
      if (!created) return await this.wait(id);
      this.report(this.a.id, "ready");
      await this.start(id);
      // Without a healthcheck a started container is running; an early exit arrives as a `die` event.
      if (this.a.spec.task.container.healthcheck) await this.wait(id);
      else this.report(this.a.id, "running");
    } catch (err) {
      this.report(this.a.id, "rejected", { error: errorText(err) });
    }
  }

  /** Writes the task's secrets into this host's memory; returns their directory (undefined: the task has none). */
  private async writeSecrets(): Promise<string | undefined> {
    const { secrets } = planTaskFiles(this.a);
    if (secrets.length === 0) return undefined;
    if (!this.secretFiles) throw new Error("this agent has no in-memory directory for secrets");
    return this.secretFiles.write(this.a.id, secrets);
  }

  /**
   * The image (pulled unless present, with the service's registry
   * credentials when it has some: with no registry reachable, an image
   * already here still runs), the named volumes, the task's secrets (in
   * memory), and the container with its configs written in. A name
   * conflict means an earlier run created the container: that one is used.
   */
  async prepare(): Promise<{ id: string; created: boolean }> {
    const image = this.a.spec.task.container.image;
    const { configs } = planTaskFiles(this.a);
    if (!(await this.docker.imageExists(image))) await this.docker.pullImage(image, { auth: this.a.registryAuth });
    for (const m of this.a.spec.task.container.mounts)
      if (m.type === "volume" && m.source) await this.docker.createVolume(m.source, { [labels.service]: this.a.serviceId });
    const secretsSource = await this.writeSecrets();
    let id: string;
    let created = true;
    try {
      id = await this.docker.createContainer(this.a.containerName, containerCreateBody(this.a, this.nodeId, this.attachments, secretsSource));
    } catch (err) {
      if (!isConflict(err)) throw err;
      const existing = await this.docker.inspectContainer(this.a.containerName);
      id = existing.Id;
      created = false;
      if (existing.State.Status !== "created") return { id, created };
    }
    // API 1.41 takes one network at create: the others are connected before start.
    for (const n of this.attachments.slice(1)) {
      try {
        await this.docker.connectNetwork(n.dockerName, id, { IPAMConfig: { IPv4Address: n.ip } });
      } catch (err) {
        if (!(err instanceof DockerError && err.statusCode === 403 && /already exists/.test(err.engineMessage))) throw err;
      }
    }
    // Configs are not secret: they go into the container's own filesystem, as Swarm's do, before it starts.
    if (configs.length) await this.docker.putArchive(id, "/", await tarFiles(configs));
    return { id, created };
  }

  /** Starts the container (already running is fine). */
  async start(id: string): Promise<void> {
    this.report(this.a.id, "starting");
    await this.docker.startContainer(id);
  }

  /**
   * Reports what the container is doing: its healthcheck gates `running`, an
   * unhealthy one is stopped and fails, an exit completes or fails the task.
   * A created container (its start was cut short) is started. SwarmKit's
   * wait, without blocking: the worker calls it again on each engine event.
   */
  async wait(id: string, started = false): Promise<void> {
    const s = (await this.docker.inspectContainer(id)).State;
    if (s.Running) {
      const health = s.Health?.Status;
      if (health === "unhealthy") {
        await this.docker.stopContainer(id, this.stopTimeoutSeconds);
        this.report(this.a.id, "failed", { error: "task: container is unhealthy", exitCode: null });
      } else if (health === undefined || health === "healthy") this.report(this.a.id, "running");
      else this.report(this.a.id, "starting", { message: `health: ${health}` });
      return;
    }
    if (s.Status === "created") {
      if (started) return;
      // Its secrets' directory is gone if the host restarted (tmpfs) since the container was made.
      await this.writeSecrets();
      await this.start(id);
      return this.wait(id, true);
    }
    if (s.ExitCode === 0 && !s.Error) this.report(this.a.id, "complete", { exitCode: 0 });
    else this.report(this.a.id, "failed", { exitCode: s.ExitCode, error: s.Error || `task: non-zero exit (${s.ExitCode})` });
  }

  /** Stops the container within the task's grace period (already stopped is fine). */
  async shutdown(id: string): Promise<void> {
    await this.docker.stopContainer(id, this.stopTimeoutSeconds);
  }

  /** Removes the container and its anonymous volumes (already gone is fine) and the task's secrets, then reports the task shut down. */
  async remove(id: string | undefined): Promise<void> {
    if (id) await removeContainer(this.docker, id);
    await this.secretFiles?.remove(this.a.id);
    this.report(this.a.id, "shutdown");
  }
}

/** Removes a container, already gone or not. */
export async function removeContainer(docker: Engine, id: string): Promise<void> {
  try {
    await docker.removeContainer(id, { force: true, volumes: true });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
