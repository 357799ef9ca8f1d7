import { DockerError } from "../../agent/src/docker/errors.js";
import type { ContainerCreateBody, ContainerInspect, ContainerSummary, DockerEvent, EngineInfo, EventsOptions, ListContainersOptions } from "../../agent/src/docker/client.js";
import type { Engine } from "../../agent/src/engine.js";
import type { RegistryAuth } from "../../src/domain/registry-auth.js";

interface FakeContainer {
  id: string;
  name: string;
  body: ContainerCreateBody;
  state: ContainerInspect["State"];
}

export interface FakeEngineOptions {
  /** What a started container does: keeps running (default), or exits at once with a code. */
  onStart?: (image: string) => { exitCode: number } | undefined;
  /** The health a started container with a healthcheck reports at once (default healthy). */
  health?: (image: string) => "healthy" | "unhealthy" | "starting";
}

/**
 * An in-memory Docker engine for unit tests of the agent's parts (and for tests
 * of the agent protocol that need no real containers). It keeps the engine's
 * rules the agent relies on: a taken name is a 409, a missing container a 404,
 * start and stop of a container already there succeed, and it streams the
 * container events the agent subscribes to. `calls` records each change asked.
 */
export class FakeEngine implements Engine {
  readonly containers = new Map<string, FakeContainer>();
  readonly images = new Set<string>();
  readonly volumes = new Set<string>();
  readonly calls: string[] = [];
  /** The registry credentials of each pull, in order. */
  readonly pullAuths: (RegistryAuth | undefined)[] = [];
  /** Set to an error message to make the engine unreachable (ping and every call fail). */
  down: string | undefined;
  private seq = 0;
  private readonly listeners = new Set<(e: DockerEvent) => void>();

  constructor(private readonly opts: FakeEngineOptions = {}) {}

  private check(call: string): void {
    if (this.down) throw new DockerError(0, this.down, call);
  }

  private find(idOrName: string, call: string): FakeContainer {
    const c = this.containers.get(idOrName) ?? [...this.containers.values()].find((x) => x.name === idOrName.replace(/^\//, ""));
    if (!c) throw new DockerError(404, `No such container: ${idOrName}`, call);
    return c;
  }

  private emit(c: FakeContainer, action: string): void {
    const event: DockerEvent = { Type: "container", Action: action, Actor: { ID: c.id, Attributes: c.body.Labels ?? {} }, time: Date.now() / 1000, timeNano: Date.now() * 1e6 };
    queueMicrotask(() => this.listeners.forEach((l) => l(event)));
  }

  private exit(c: FakeContainer, exitCode: number): void {
    c.state = { ...c.state, Status: "exited", Running: false, ExitCode: exitCode, Health: undefined, FinishedAt: new Date().toISOString() };
    this.emit(c, "die");
  }

  async negotiate(): Promise<string> {
    return "1.41";
  }

  async info(): Promise<EngineInfo> {
    this.check("GET /info");
    return { Name: "fake-engine", NCPU: 4, MemTotal: 8 * 1024 ** 3, OperatingSystem: "Fake", OSType: "linux", Architecture: "x86_64", ServerVersion: "27.3.1", Labels: [] };
  }

  async ping(): Promise<void> {
    this.check("GET /_ping");
  }

  async events(_options: EventsOptions, onEvent: (event: DockerEvent) => void, signal: AbortSignal): Promise<void> {
    this.check("GET /events");
    if (signal.aborted) return;
    this.listeners.add(onEvent);
    await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    this.listeners.delete(onEvent);
  }

  async listContainers(options: ListContainersOptions = {}): Promise<ContainerSummary[]> {
    this.check("GET /containers/json");
    const matches = (labels: Record<string, string>) =>
      (options.labelFilters ?? []).every((f) => {
        const eq = f.indexOf("=");
        return eq < 0 ? f in labels : labels[f.slice(0, eq)] === f.slice(eq + 1);
      });
    return [...this.containers.values()]
      .filter((c) => (options.all || c.state.Running) && matches(c.body.Labels ?? {}))
      .map((c) => ({ Id: c.id, Names: [`/${c.name}`], Labels: c.body.Labels ?? {}, State: c.state.Status, Status: c.state.Status }));
  }

  async inspectContainer(id: string): Promise<ContainerInspect> {
    this.check("GET /containers/json");
    const c = this.find(id, `GET /containers/${id}/json`);
    return { Id: c.id, Name: `/${c.name}`, State: { ...c.state }, Config: { Image: c.body.Image, Labels: c.body.Labels ?? {}, Tty: c.body.Tty ?? false } };
  }

  async imageExists(ref: string): Promise<boolean> {
    this.check("GET /images");
    return this.images.has(ref);
  }

  async pullImage(ref: string, opts: Parameters<Engine["pullImage"]>[1] = {}): Promise<void> {
    this.check("POST /images/create");
    this.calls.push(`pull ${ref}`);
    this.pullAuths.push(opts.auth);
    this.images.add(ref);
  }

  async createVolume(name: string): Promise<void> {
    this.check("POST /volumes/create");
    this.volumes.add(name);
  }

  async createContainer(name: string, body: ContainerCreateBody): Promise<string> {
    this.check("POST /containers/create");
    this.calls.push(`create ${name}`);
    if ([...this.containers.values()].some((c) => c.name === name))
      throw new DockerError(409, `Conflict. The container name "/${name}" is already in use`, "POST /containers/create");
    const id = `c${++this.seq}`.padEnd(12, "0");
    const never = "0001-01-01T00:00:00Z";
    this.containers.set(id, { id, name, body, state: { Status: "created", Running: false, ExitCode: 0, OOMKilled: false, Error: "", StartedAt: never, FinishedAt: never } });
    return id;
  }

  /** Archives extracted into each container (by name), as sent. */
  readonly archives = new Map<string, { path: string; tar: Buffer }[]>();

  async putArchive(id: string, path: string, tar: Uint8Array): Promise<void> {
    this.check("PUT /containers/archive");
    const c = this.find(id, `PUT /containers/${id}/archive`);
    this.calls.push(`archive ${c.name} ${path}`);
    this.archives.set(c.name, [...(this.archives.get(c.name) ?? []), { path, tar: Buffer.from(tar) }]);
  }

  async connectNetwork(network: string, container: string): Promise<void> {
    this.check("POST /networks/connect");
    this.calls.push(`connect ${this.find(container, `POST /networks/${network}/connect`).name} ${network}`);
  }

  async startContainer(id: string): Promise<void> {
    this.check("POST /containers/start");
    const c = this.find(id, `POST /containers/${id}/start`);
    if (c.state.Running) return;
    this.calls.push(`start ${c.name}`);
    c.state = { ...c.state, Status: "running", Running: true, StartedAt: new Date().toISOString() };
    if (c.body.Healthcheck) c.state.Health = { Status: this.opts.health?.(c.body.Image) ?? "healthy" };
    this.emit(c, "start");
    const exit = this.opts.onStart?.(c.body.Image);
    if (exit) this.exit(c, exit.exitCode);
  }

  async stopContainer(id: string): Promise<void> {
    this.check("POST /containers/stop");
    const c = this.find(id, `POST /containers/${id}/stop`);
    if (!c.state.Running) return;
    this.calls.push(`stop ${c.name}`);
    this.exit(c, 143);
  }

  async removeContainer(id: string, options: { force?: boolean } = {}): Promise<void> {
    this.check("DELETE /containers");
    const c = this.find(id, `DELETE /containers/${id}`);
    if (c.state.Running && !options.force) throw new DockerError(409, "You cannot remove a running container", `DELETE /containers/${id}`);
    this.calls.push(`remove ${c.name}`);
    if (c.state.Running) this.exit(c, 137);
    this.containers.delete(c.id);
    this.emit(c, "destroy");
  }

  /** Makes a running container exit, as a crash would. */
  crash(name: string, exitCode: number): void {
    const c = this.find(name, "crash");
    if (c.state.Running) this.exit(c, exitCode);
  }

  /** Sets the health a running container reports. */
  setHealth(name: string, status: "healthy" | "unhealthy" | "starting"): void {
    const c = this.find(name, "health");
    c.state = { ...c.state, Health: { Status: status } };
    this.emit(c, "health_status");
  }
}
