import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTestImage, clusterLeftovers, ensureDockerInstalled, startCluster, tagTestImage, TEST_IMAGE, type E2ECluster, type E2EHost } from "./hosts.js";

/** The e2e infrastructure itself: three namespaced hosts with real engines, as the e2e tests use them. */
describe("namespaced Docker hosts", () => {
  const prefix = "smoke";
  const port = 8080;
  let cluster: E2ECluster;
  const host = (i: number): E2EHost => cluster.hosts[i]!;
  const url = (h: E2EHost) => `http://${h.ip}:${port}/`;
  const get = async (u: string, timeoutMs = 3_000) => {
    const res = await fetch(u, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: await res.text() };
  };
  const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  const containerPid = async (h: E2EHost, name: string) => Number(await h.docker(["inspect", "-f", "{{.State.Pid}}", name]));

  beforeAll(async () => {
    await ensureDockerInstalled();
    cluster = await startCluster({ hosts: 3, prefix });
    console.log(`${cluster.hosts.length} hosts up in ${cluster.startupMs} ms`);
    await buildTestImage(cluster);
  }, 180_000);
  afterAll(() => cluster?.stop(), 60_000);

  it("gives each host its own engine, hostname and image copy", async () => {
    const infos = await Promise.all(cluster.hosts.map((h) => h.docker(["info", "--format", "{{.ID}} {{.Name}}"])));
    expect(infos.map((i) => i.trim().split(" ")[1])).toEqual(cluster.hosts.map((h) => h.name));
    expect(new Set(infos.map((i) => i.split(" ")[0])).size).toBe(3);
    const imageIds = await Promise.all(cluster.hosts.map((h) => h.docker(["image", "inspect", "-f", "{{.Id}}", TEST_IMAGE])));
    expect(new Set(imageIds).size).toBe(1);
  });

  it("serves a published port on each host's bridge address", async () => {
    for (const h of cluster.hosts) {
      await h.docker(["run", "-d", "--name", "web", "-p", `${port}:80`, TEST_IMAGE, "httpd", "-f", "-p", "80", "-h", "/tmp"]);
    }
    for (const h of cluster.hosts) {
      expect((await get(url(h))).status).toBe(404); // an answer from httpd, with nothing to serve yet
      await h.docker(["exec", "web", "sh", "-c", `echo ${h.name} > /tmp/index.html`]);
      expect((await get(url(h))).body.trim()).toBe(h.name);
    }
    // Containers reach the other hosts and the root namespace over the bridge.
    expect((await host(0).docker(["run", "--rm", TEST_IMAGE, "wget", "-q", "-O-", url(host(1))])).trim()).toBe(host(1).name);
    const server = createServer((_, res) => res.end("control plane"));
    await new Promise<void>((r) => server.listen(0, cluster.controlPlaneIp, r));
    try {
      const cp = `http://${cluster.controlPlaneIp}:${(server.address() as AddressInfo).port}/`;
      expect(await host(2).docker(["run", "--rm", TEST_IMAGE, "wget", "-q", "-O-", cp])).toBe("control plane");
    } finally {
      server.close();
    }
  });

  it("keeps traffic on the machine: pulls and outside addresses fail at once", async () => {
    const started = Date.now();
    await expect(host(0).docker(["pull", "busybox:latest"])).rejects.toThrow(/lookup registry-1\.docker\.io on 127\.0\.0\.1:53/);
    await expect(host(0).docker(["run", "--rm", TEST_IMAGE, "nc", "-w", "3", "1.1.1.1", "80"])).rejects.toThrow(/unreachable/i);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("kills an engine with its containers, and starts it again on the same data", async () => {
    const h = host(1);
    const pid = await containerPid(h, "web");
    expect(alive(pid)).toBe(true);
    await h.killEngine();
    expect(h.engineRunning).toBe(false);
    expect(alive(pid)).toBe(false);
    await expect(h.docker(["version"])).rejects.toThrow();
    await expect(get(url(h), 1_500)).rejects.toThrow();
    expect((await get(url(host(0)))).body.trim()).toBe(host(0).name);

    const restarted = Date.now();
    await h.startEngine();
    console.log(`engine restarted in ${Date.now() - restarted} ms`);
    expect((await h.docker(["inspect", "-f", "{{.State.Status}}", "web"])).trim()).toBe("exited");
    await h.docker(["start", "web"]);
    // The restarted engine sets its networking up again as the container starts: poll until it answers.
    const served = async () => (await get(url(h), 1_000).catch(() => ({ body: "" }))).body.trim();
    await expect.poll(served, { timeout: 15_000, interval: 250 }).toBe(h.name); // the container's files survived
  });

  it("partitions a host with linkDown and heals it with linkUp", async () => {
    const h = host(2);
    await h.linkDown();
    await expect(get(url(h), 1_500)).rejects.toThrow();
    expect((await get(url(host(0)))).body.trim()).toBe(host(0).name);
    expect(await h.docker(["ps", "-q", "--filter", "name=web"])).not.toBe(""); // the engine itself is untouched
    await h.linkUp();
    expect((await get(url(h))).body.trim()).toBe(h.name);
  });

  it("tags the same image under a second tag, for update tests", async () => {
    const ref = await tagTestImage(cluster, "2");
    for (const h of cluster.hosts) {
      const [one, two] = await Promise.all([TEST_IMAGE, ref].map((r) => h.docker(["image", "inspect", "-f", "{{.Id}}", r])));
      expect(two).toBe(one);
    }
  });

  it("stops and removes everything it started", async () => {
    const pids = await Promise.all(cluster.hosts.map((h) => containerPid(h, "web")));
    expect(pids.every(alive)).toBe(true);
    expect(clusterLeftovers(prefix).length).toBeGreaterThan(0);
    await cluster.stop();
    expect(clusterLeftovers(prefix)).toEqual([]);
    expect(pids.filter(alive)).toEqual([]);
  });
});
