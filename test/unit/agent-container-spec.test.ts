import { describe, expect, it } from "vitest";
import { containerCreateBody } from "../../agent/src/container-spec.js";
import { fixtureAssignment } from "../helpers/agent-fixtures.js";

const assignment = (body: Record<string, unknown>) => fixtureAssignment("task_1", body);

describe("containerCreateBody", () => {
  it("maps every container field of the spec", () => {
    const body = containerCreateBody(
      assignment({
        task: {
          container: {
            image: "shoal-test/busybox:1",
            command: ["httpd"],
            args: ["-f", "-p", "80"],
            env: ["A=1"],
            labels: { team: "x" },
            user: "nobody",
            workdir: "/tmp",
            hostname: "web-host",
            mounts: [
              { type: "volume", source: "data", target: "/data" },
              { type: "tmpfs", target: "/scratch", tmpfsSizeBytes: 1048576 },
              { type: "bind", source: "/etc/hostname", target: "/h", readOnly: true },
            ],
            healthcheck: { test: ["CMD-SHELL", "wget -q -O- localhost"], intervalMs: 1000, timeoutMs: 500, retries: 3, startPeriodMs: 0 },
            stopGracePeriodMs: 7000,
            stopSignal: "SIGINT",
            init: true,
            readOnly: true,
            capAdd: ["NET_ADMIN"],
            capDrop: ["MKNOD"],
            dns: { nameservers: ["10.0.0.2"], search: ["local"], options: ["ndots:1"] },
            hosts: ["10.0.0.9 db db.local"],
          },
          resources: { limits: { nanoCpus: 500_000_000, memoryBytes: 64 * 1024 ** 2, pids: 100 } },
          logDriver: { name: "json-file", options: { "max-size": "10m" } },
        },
        endpoint: { ports: [{ targetPort: 80, publishedPort: 8080, publishMode: "host" }, { targetPort: 81, publishedPort: 30001 }] },
      }),
      "node_1",
    );
    expect(body).toMatchObject({
      Image: "shoal-test/busybox:1",
      Entrypoint: ["httpd"],
      Cmd: ["-f", "-p", "80"],
      Env: ["A=1"],
      Labels: { team: "x", "io.shoal.task.id": "task_1", "io.shoal.service.id": "svc_1", "io.shoal.node.id": "node_1", "io.shoal.task.slot": "1" },
      User: "nobody",
      WorkingDir: "/tmp",
      Hostname: "web-host",
      Healthcheck: { Test: ["CMD-SHELL", "wget -q -O- localhost"], Interval: 1e9, Timeout: 5e8, Retries: 3, StartPeriod: 0 },
      StopSignal: "SIGINT",
      StopTimeout: 7,
      ExposedPorts: { "80/tcp": {} },
      HostConfig: {
        PortBindings: { "80/tcp": [{ HostPort: "8080" }] },
        NanoCpus: 500_000_000,
        Memory: 64 * 1024 ** 2,
        PidsLimit: 100,
        Init: true,
        ReadonlyRootfs: true,
        CapAdd: ["NET_ADMIN"],
        CapDrop: ["MKNOD"],
        Dns: ["10.0.0.2"],
        DnsSearch: ["local"],
        DnsOptions: ["ndots:1"],
        ExtraHosts: ["db:10.0.0.9", "db.local:10.0.0.9"],
        LogConfig: { Type: "json-file", Config: { "max-size": "10m" } },
        RestartPolicy: { Name: "no" },
      },
    });
    const mounts = (body.HostConfig as { Mounts: unknown[] }).Mounts;
    expect(mounts).toEqual([
      { Type: "volume", Source: "data", Target: "/data", ReadOnly: false, VolumeOptions: { Labels: { "io.shoal.service.id": "svc_1" } } },
      { Type: "tmpfs", Target: "/scratch", ReadOnly: false, TmpfsOptions: { SizeBytes: 1048576 } },
      { Type: "bind", Source: "/etc/hostname", Target: "/h", ReadOnly: true },
    ]);
  });

  it("leaves the image's entrypoint, cmd and healthcheck alone when the spec has none", () => {
    const body = containerCreateBody(assignment({}), "node_1");
    expect(body).not.toHaveProperty("Entrypoint");
    expect(body).not.toHaveProperty("Cmd");
    expect(body).not.toHaveProperty("Healthcheck");
    expect(body.HostConfig).not.toHaveProperty("LogConfig");
    expect(body.StopTimeout).toBe(10);
  });
});

describe("containerCreateBody with overlay attachments", () => {
  it("creates the container on the first network at its address, with that network's node IP as resolver", () => {
    const a = fixtureAssignment("task_1", { task: { container: { image: "x", dns: { nameservers: ["192.0.2.53"] } } } });
    const body = containerCreateBody(a, "node_1", [
      { networkId: "net_1", dockerName: "shoal-net_1", ip: "10.10.1.11", nodeIp: "10.10.1.2" },
      { networkId: "net_ing", dockerName: "shoal-net_ing", ip: "10.0.0.11", nodeIp: "10.0.0.2" },
    ]);
    expect(body.HostConfig?.NetworkMode).toBe("shoal-net_1");
    expect(body.NetworkingConfig).toEqual({ EndpointsConfig: { "shoal-net_1": { IPAMConfig: { IPv4Address: "10.10.1.11" } } } });
    expect(body.HostConfig?.Dns).toEqual(["10.10.1.2", "192.0.2.53"]);
  });

  it("leaves networking to Docker's default without attachments", () => {
    const body = containerCreateBody(fixtureAssignment("task_1"), "node_1");
    expect(body.HostConfig?.NetworkMode).toBeUndefined();
    expect(body.NetworkingConfig).toBeUndefined();
  });
});
