import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shoalContainers, startShoalCluster, type ShoalCluster } from "./cluster.js";
import { TEST_IMAGE, type E2EHost } from "./hosts.js";

/** The files under `dir` holding `text` (grep -r; FIFOs, sockets and devices skipped, symlinks not followed). */
function filesHolding(dir: string, text: string): string[] {
  try {
    return execFileSync("grep", ["-rlF", "-D", "skip", "--", text, dir], { encoding: "utf8" }).split("\n").filter(Boolean);
  } catch (err) {
    // grep exits 1 when nothing matched.
    if ((err as { status?: number }).status === 1) return [];
    throw err;
  }
}

/**
 * A service with a secret and a config on two namespaced hosts with real
 * engines and agents: what its containers read, with which owner and mode,
 * from which kind of mount; and that the value is on no disk the engine or
 * the agent uses, nor in the agents' logs, while it runs and after it is gone.
 */
describe("secrets and configs in real containers", () => {
  let c: ShoalCluster;
  const value = `s3cr3t-${randomBytes(12).toString("hex")}`;
  const b64 = Buffer.from(value).toString("base64");
  const config = `listen = 8080 ${randomBytes(6).toString("hex")}\n`;

  beforeAll(async () => {
    c = await startShoalCluster({ hosts: 2, prefix: "secr" });
  }, 240_000);
  afterAll(() => c?.stop(), 120_000);

  const running = async () => ((await c.api("GET", "/v1/tasks?service=app&desired-state=running")).body as any[]).filter((t) => t.status.state === "running");
  const exec = (host: E2EHost, id: string, ...cmd: string[]) => host.docker(["exec", id, ...cmd]);
  const onDisk = () => [...filesHolding(c.hosts.dir, value), ...filesHolding(c.hosts.dir, b64)];

  it("each task reads its secret from an in-memory /run/secrets and its config, with the owner and mode asked for", async () => {
    expect((await c.api("POST", "/v1/secrets", { name: "db_pw", data: b64 })).status).toBe(201);
    expect((await c.api("POST", "/v1/configs", { name: "app.conf", data: Buffer.from(config).toString("base64") })).status).toBe(201);
    const created = await c.api("POST", "/v1/services", {
      name: "app",
      replicas: 2,
      task: {
        container: { image: TEST_IMAGE, command: ["sh", "-c", "exec sleep 100000"], stopGracePeriodMs: 1000 },
        placement: { maxReplicasPerNode: 1 },
        secrets: [{ source: "db_pw", target: "db/password", uid: 1000, gid: 1001, mode: 0o400 }],
        configs: [{ source: "app.conf", target: "/etc/app.conf", uid: 33, gid: 0, mode: 0o640 }],
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await c.waitFor("2 running tasks", async () => (await running()).length === 2);

    for (const host of c.hosts.hosts) {
      const [container] = await shoalContainers(host);
      expect(container, host.name).toBeDefined();
      const id = container!.id;
      expect(await exec(host, id, "cat", "/run/secrets/db/password")).toBe(value);
      expect((await exec(host, id, "stat", "-c", "%u %g %a", "/run/secrets/db/password")).trim()).toBe("1000 1001 400");
      const mounts = (await exec(host, id, "grep", "/run/secrets", "/proc/mounts")).trim().split("\n");
      expect(mounts).toHaveLength(1);
      expect(mounts[0]).toMatch(/^\S+ \/run\/secrets tmpfs ro[, ]/);
      expect(await exec(host, id, "cat", "/etc/app.conf")).toBe(config);
      expect((await exec(host, id, "stat", "-c", "%u %g %a", "/etc/app.conf")).trim()).toBe("33 0 640");
      // The secret is nowhere in the container's own filesystem (its layer on the host's disk) under the mount.
      const inspect = JSON.parse(await host.docker(["inspect", id]))[0];
      expect(inspect.Mounts).toEqual([expect.objectContaining({ Type: "bind", Source: `${c.agentDirs(host).secrets}/${container!.task}`, Destination: "/run/secrets", RW: false })]);
    }
    // Not on any disk the engines or agents use (data roots, container layers, agent state dirs), nor in the agents' logs.
    expect(onDisk()).toEqual([]);
    for (const host of c.hosts.hosts) expect(filesHolding(c.agentDirs(host).state, value)).toEqual([]);
    for (const agent of c.agents.values()) {
      expect(agent.output()).not.toContain(value);
      expect(agent.output()).not.toContain(b64);
    }
  }, 180_000);

  it("a node with no task using a secret never receives it; the control plane's files and answers hold no plain value", async () => {
    const [withTask, without] = c.hosts.hosts as [E2EHost, E2EHost];
    const solo = `only-for-${withTask.name}-${randomBytes(8).toString("hex")}`;
    expect((await c.api("POST", "/v1/secrets", { name: "solo_pw", data: Buffer.from(solo).toString("base64") })).status).toBe(201);
    const created = await c.api("POST", "/v1/services", {
      name: "solo",
      task: {
        container: { image: TEST_IMAGE, command: ["sh", "-c", "exec sleep 100000"], stopGracePeriodMs: 1000 },
        placement: { constraints: [`node.hostname==${withTask.name}`] },
        secrets: [{ source: "solo_pw" }],
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await c.waitFor("solo running", async () => ((await c.api("GET", "/v1/tasks?service=solo&desired-state=running")).body as any[]).some((t) => t.status.state === "running"));
    const [container] = (await shoalContainers(withTask)).filter((x) => x.name.startsWith("solo."));
    expect(await exec(withTask, container!.id, "cat", "/run/secrets/solo_pw")).toBe(solo);

    // Each node's own assignment long-poll, with its own credential, as its agent asks.
    const poll = async (host: E2EHost) => {
      const { credential } = JSON.parse(readFileSync(join(c.agentDirs(host).state, "credential.json"), "utf8")) as { credential: string };
      const res = await fetch(`${c.controlPlane.url}/v1/agent/assignments?since=-1&waitMs=0`, { headers: { authorization: `Bearer ${credential}` } });
      expect(res.status).toBe(200);
      return res.text();
    };
    const soloB64 = Buffer.from(solo).toString("base64");
    expect(await poll(withTask)).toContain(soloB64);
    const other = await poll(without);
    expect(other).not.toContain(soloB64);
    expect(other).not.toContain(solo);
    expect(filesHolding(c.agentDirs(without).secrets, solo)).toEqual([]);

    const answers = await Promise.all(["/v1/secrets", "/v1/secrets/solo_pw", "/v1/services/solo", "/v1/tasks?service=solo", "/v1/events"].map(async (path) => JSON.stringify((await c.api("GET", path)).body)));
    for (const text of [...answers, c.controlPlane.output()]) for (const plain of [solo, soloB64, value, b64]) expect(text).not.toContain(plain);
    for (const plain of [solo, soloB64, value, b64]) expect(filesHolding(c.controlPlaneDir, plain)).toEqual([]);
    expect((await c.api("DELETE", "/v1/services/solo")).status).toBe(204);
  }, 120_000);

  it("scaled to 0, no container and no copy of the secret remains on either host", async () => {
    expect((await c.api("POST", "/v1/services/scale", { services: { app: 0 } })).status).toBe(200);
    await c.waitFor("no containers on any host", async () => (await Promise.all(c.hosts.hosts.map((h) => shoalContainers(h, true)))).every((l) => l.length === 0));
    for (const host of c.hosts.hosts) {
      const dir = c.agentDirs(host).secrets;
      await c.waitFor(`${host.name}'s secrets directory empty`, async () => !existsSync(dir) || readdirSync(dir).length === 0, 15_000);
    }
    expect(onDisk()).toEqual([]);
    for (const agent of c.agents.values()) expect(agent.output()).not.toContain(value);
  }, 120_000);
});
