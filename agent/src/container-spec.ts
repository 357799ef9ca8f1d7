import type { Assignment } from "../../src/protocol/agent-v1.js";
import { secretsDir } from "../../src/domain/service-spec.js";
import type { ContainerCreateBody, Mount } from "./docker/client.js";

/** A task's address on an overlay network this host has set up. */
export interface ResolvedAttachment {
  networkId: string;
  dockerName: string;
  ip: string;
  /** This host's address on the network: the first one's is the container's DNS server. */
  nodeIp: string;
}

/** Labels on every container shoal runs; the agent only ever touches containers carrying them. */
export const labels = {
  task: "io.shoal.task.id",
  service: "io.shoal.service.id",
  serviceName: "io.shoal.service.name",
  node: "io.shoal.node.id",
  slot: "io.shoal.task.slot",
} as const;

const ns = (ms: number) => ms * 1_000_000;

/** "IP host alias…" (/etc/hosts form, as the spec keeps it) → docker's "host:IP" entries. */
function extraHosts(hosts: string[]): string[] {
  return hosts.flatMap((line) => {
    const [ip, ...names] = line.trim().split(/\s+/);
    return names.map((name) => `${name}:${ip}`);
  });
}

/**
 * The Docker Engine API body that creates a task's container. Pure, so the
 * mapping of every spec field is tested on its own. Host-mode ports are bound
 * on this host (ingress ports are the routing mesh's). With overlay
 * attachments the container is created on the first one's Docker network at
 * its allocated address, its resolver is that network's node IP (the agent's
 * DNS; Docker's embedded one forwards to it), and the controller connects the
 * others before start. Service names are never Docker aliases: Docker would
 * answer them with local containers only. Secrets come as a read-only bind
 * mount of the task's in-memory directory at /run/secrets (task-files.ts).
 */
export function containerCreateBody(
  a: Assignment,
  nodeId: string,
  attachments: ResolvedAttachment[] = [],
  /** The host directory (on a tmpfs) holding the task's secrets: bind-mounted read-only at /run/secrets. */
  secretsSource?: string,
): ContainerCreateBody {
  const [first] = attachments;
  const c = a.spec.task.container;
  const { limits } = a.spec.task.resources;
  const hostPorts = a.spec.endpoint.ports.filter((p) => p.publishMode === "host" && p.publishedPort);
  const hc = c.healthcheck;
  return {
    Image: c.image,
    ...(c.command.length ? { Entrypoint: c.command } : {}),
    ...(c.args.length ? { Cmd: c.args } : {}),
    Env: c.env,
    Labels: {
      ...c.labels,
      [labels.task]: a.id,
      [labels.service]: a.serviceId,
      [labels.serviceName]: a.serviceName,
      [labels.node]: nodeId,
      ...(a.slot !== null ? { [labels.slot]: String(a.slot) } : {}),
    },
    ...(c.user ? { User: c.user } : {}),
    ...(c.workdir ? { WorkingDir: c.workdir } : {}),
    ...(c.hostname ? { Hostname: c.hostname } : {}),
    ...(hc
      ? {
          Healthcheck: {
            Test: hc.test,
            Interval: ns(hc.intervalMs),
            Timeout: ns(hc.timeoutMs),
            Retries: hc.retries,
            StartPeriod: ns(hc.startPeriodMs),
          },
        }
      : {}),
    ...(c.stopSignal ? { StopSignal: c.stopSignal } : {}),
    StopTimeout: Math.ceil(c.stopGracePeriodMs / 1000),
    Tty: c.tty,
    ExposedPorts: Object.fromEntries(hostPorts.map((p) => [`${p.targetPort}/${p.protocol}`, {}])),
    HostConfig: {
      Mounts: c.mounts.map((m): Mount => ({
        Type: m.type,
        ...(m.source ? { Source: m.source } : {}),
        Target: m.target,
        ReadOnly: m.readOnly,
        ...(m.type === "tmpfs" && m.tmpfsSizeBytes ? { TmpfsOptions: { SizeBytes: m.tmpfsSizeBytes } } : {}),
        ...(m.type === "volume" && m.source ? { VolumeOptions: { Labels: { [labels.service]: a.serviceId } } } : {}),
      })).concat(secretsSource ? [{ Type: "bind", Source: secretsSource, Target: secretsDir, ReadOnly: true }] : []),
      PortBindings: Object.fromEntries(hostPorts.map((p) => [`${p.targetPort}/${p.protocol}`, [{ HostPort: String(p.publishedPort) }]])),
      ...(limits.nanoCpus ? { NanoCpus: limits.nanoCpus } : {}),
      ...(limits.memoryBytes ? { Memory: limits.memoryBytes } : {}),
      ...(limits.pids ? { PidsLimit: limits.pids } : {}),
      Init: c.init,
      ReadonlyRootfs: c.readOnly,
      CapAdd: c.capAdd,
      CapDrop: c.capDrop,
      ...(first ? { NetworkMode: first.dockerName } : {}),
      Dns: first ? [first.nodeIp, ...c.dns.nameservers] : c.dns.nameservers,
      DnsSearch: c.dns.search,
      DnsOptions: c.dns.options,
      ExtraHosts: extraHosts(c.hosts),
      ...(a.spec.task.logDriver ? { LogConfig: { Type: a.spec.task.logDriver.name, Config: a.spec.task.logDriver.options } } : {}),
      // shoal restarts tasks itself (as new tasks), so the engine must not.
      RestartPolicy: { Name: "no" },
    },
    ...(first ? { NetworkingConfig: { EndpointsConfig: { [first.dockerName]: { IPAMConfig: { IPv4Address: first.ip } } } } } : {}),
  };
}
