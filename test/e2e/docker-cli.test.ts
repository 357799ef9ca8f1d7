import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../helpers/processes.js";
import { shoalContainers, startShoalCluster, type ShoalCluster } from "./cluster.js";
import { TEST_IMAGE, tagTestImage } from "./hosts.js";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The real docker CLI (whichever `docker` is on PATH: docker.io's 20.10 or a newer one)
 * pointed at shoal's Docker Engine API, with the bearer token in a config.json of its own
 * (DOCKER_CONFIG), as the README tells users; the tasks run on real engines.
 */
describe("the docker CLI drives shoal", () => {
  let c: ShoalCluster;
  let v2 = "";
  let env: Record<string, string> = {};
  const docker = (...args: string[]) =>
    new Promise<Run>((resolve) =>
      execFile("docker", args, { env, timeout: 120_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr }),
      ),
    );
  const runningOnHosts = async () => (await Promise.all(c.hosts.hosts.map((h) => shoalContainers(h)))).flat().filter((x) => x.state === "running");

  beforeAll(async () => {
    c = await startShoalCluster({ hosts: 2, prefix: "dcli" });
    v2 = await tagTestImage(c.hosts, "2");
    const config = tempDir("shoal-e2e-docker-config-");
    writeFileSync(join(config, "config.json"), JSON.stringify({ HttpHeaders: { Authorization: `Bearer ${c.admin}` } }));
    const { hostname, port } = new URL(c.controlPlane.url);
    env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: config, DOCKER_CONFIG: config, DOCKER_HOST: `tcp://${hostname.replace(/^localhost$/, "127.0.0.1")}:${port}/docker` };
  }, 240_000);
  afterAll(() => c?.stop(), 120_000);

  it("version negotiates API 1.41; node ls lists the hosts", async () => {
    const version = await docker("version", "--format", "{{.Server.APIVersion}}");
    expect(version).toEqual({ code: 0, stdout: "1.41\n", stderr: "" });
    const nodes = await docker("node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.Availability}}");
    expect(nodes.code).toBe(0);
    expect(nodes.stdout.trim().split("\n").sort()).toEqual(c.hosts.hosts.map((h) => `${h.name} Ready Active`).sort());
    const table = await docker("node", "ls");
    expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+HOSTNAME\s+STATUS\s+AVAILABILITY\s+MANAGER STATUS\s+ENGINE VERSION\s*$/);
  });

  it("service create waits for convergence, as against Swarm; the tasks run on the engines", async () => {
    const r = await docker("service", "create", "--name", "web", "--replicas", "3", "--update-monitor", "1s", "--stop-grace-period", "0s", TEST_IMAGE, "sleep", "3600");
    expect(r, r.stdout.slice(-500)).toMatchObject({ code: 0 });
    expect(r.stdout).toMatch(/overall progress: 3 out of 3 tasks/);
    expect(r.stdout).toMatch(/verify: Service (\w+ )?converged/);
    expect(await runningOnHosts()).toHaveLength(3);
    const ls = await docker("service", "ls");
    expect(ls.stdout.split("\n")[0]).toMatch(/^ID\s+NAME\s+MODE\s+REPLICAS\s+IMAGE\s+PORTS\s*$/);
    expect(ls.stdout).toMatch(/\sweb\s+replicated\s+3\/3\s+shoal-test\/busybox:1\s/);
    const ps = await docker("service", "ps", "--format", "{{.Name}} {{.DesiredState}} {{.CurrentState}}", "web");
    const rows = ps.stdout.trim().split("\n").sort();
    expect(rows.map((l) => l.split(" ").slice(0, 2).join(" "))).toEqual(["web.1 Running", "web.2 Running", "web.3 Running"]);
    expect(rows.every((l) => / Running Running /.test(l))).toBe(true);
    const replicas = await docker("service", "inspect", "--format", "{{.Spec.Mode.Replicated.Replicas}} {{.Spec.TaskTemplate.ContainerSpec.Image}}", "web");
    expect(replicas.stdout).toBe(`3 ${TEST_IMAGE}\n`);
  });

  it("update --image rolls the tasks; a later scale waits for its own convergence, not the finished update", async () => {
    const update = await docker("service", "update", "--image", v2, "web");
    expect(update.code).toBe(0);
    expect(update.stdout).toMatch(/verify: Service (\w+ )?converged/);
    const images = (await docker("service", "ps", "-f", "desired-state=running", "--format", "{{.Image}}", "web")).stdout.trim().split("\n");
    expect(images).toEqual([v2, v2, v2]);
    const scale = await docker("service", "scale", "web=5");
    expect(scale.code).toBe(0);
    expect(scale.stdout).toMatch(/overall progress: 5 out of 5 tasks/);
    expect(await runningOnHosts()).toHaveLength(5);
  });

  it("rollback returns to the spec before the last write (the scale, as in Swarm); rm removes the service and its containers", async () => {
    const back = await docker("service", "rollback", "web");
    expect(back.code).toBe(0);
    const spec = await docker("service", "inspect", "--format", "{{.Spec.Mode.Replicated.Replicas}} {{.Spec.TaskTemplate.ContainerSpec.Image}}", "web");
    expect(spec.stdout).toBe(`3 ${v2}\n`);
    await c.waitFor("3 tasks running", async () => (await runningOnHosts()).length === 3);
    const rm = await docker("service", "rm", "web");
    expect(rm).toMatchObject({ code: 0, stdout: "web\n" });
    await c.waitFor("no containers of web", async () => (await runningOnHosts()).length === 0);
    const gone = await docker("service", "inspect", "web");
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/no such service: web/i);
    // The CLI sends a duration as whole Unix seconds, which would cut off an event later in the current second.
    const until = new Date(Date.now() + 1500).toISOString();
    const events = await docker("events", "--since", "10m", "--until", until, "--filter", "type=service", "--filter", "service=web", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}");
    expect(events.code).toBe(0);
    const seen = events.stdout.trim().split("\n");
    expect(seen[0]).toBe("service create web");
    expect(seen.at(-1)).toBe("service remove web");
    expect(seen).toContain("service update web");
  });

  it("dockerode, as an SDK client, lists, creates, updates and removes services", async () => {
    const { hostname, port } = new URL(c.controlPlane.url);
    const sdk = new Docker({ host: hostname, port: Number(port), protocol: "http", headers: { Authorization: `Bearer ${c.admin}` } });
    const created = await sdk.createService({
      Name: "sdk",
      Mode: { Replicated: { Replicas: 2 } },
      TaskTemplate: { ContainerSpec: { Image: TEST_IMAGE, Command: ["sleep", "3600"] } },
    });
    const service = sdk.getService(created.id);
    await c.waitFor("2 tasks of sdk running", async () => (await runningOnHosts()).filter((x) => x.name.startsWith("sdk.")).length === 2);
    const listed = await sdk.listServices({ filters: { name: ["sdk"] } });
    expect(listed.map((s) => s.Spec?.Name)).toEqual(["sdk"]);
    const before = await service.inspect();
    await service.update({ ...before.Spec, version: before.Version.Index, Mode: { Replicated: { Replicas: 1 } } });
    expect((await service.inspect()).Spec.Mode.Replicated.Replicas).toBe(1);
    await c.waitFor("1 task of sdk running", async () => (await runningOnHosts()).filter((x) => x.name.startsWith("sdk.")).length === 1);
    const tasks = await sdk.listTasks({ filters: { service: ["sdk"], "desired-state": ["running"] } });
    expect(tasks).toHaveLength(1);
    await service.remove();
    await expect(service.inspect()).rejects.toMatchObject({ statusCode: 404 });
  });
});
