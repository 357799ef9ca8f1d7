import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../helpers/processes.js";
import { shoalContainers, startShoalCluster, type ShoalCluster } from "./cluster.js";
import { TEST_IMAGE } from "./hosts.js";
import { startRegistry, type TestRegistry } from "./registry.js";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * docker service create --with-registry-auth against a real registry with
 * basic auth: the image is pushed from one host's engine (logged in there),
 * the service runs on another whose engine never logged in, pulling with the
 * credentials shoal stored and delivered in the task's assignment. Without
 * them the task fails with the registry's own error.
 */
describe("--with-registry-auth pulls from a registry that needs a login", () => {
  let c: ShoalCluster;
  let registry: TestRegistry;
  let env: Record<string, string> = {};
  let image = "";
  const user = "shoal-ci";
  const password = "e2e-registry-pw-5d1c";
  const docker = (...args: string[]) =>
    new Promise<Run>((resolve) =>
      execFile("docker", args, { env, timeout: 120_000 }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr })),
    );
  const puller = () => c.hosts.hosts[1]!;

  beforeAll(async () => {
    c = await startShoalCluster({ hosts: 2, prefix: "regauth" });
    registry = await startRegistry(c.hosts.controlPlaneIp, user, password);
    image = `${registry.address}/shoal/busybox:1`;
    // Push from the first host's engine, logged in with a docker config of its own.
    const pusher = c.hosts.hosts[0]!;
    const pushConfig = { DOCKER_CONFIG: tempDir("shoal-e2e-push-config-") };
    await pusher.docker(["login", "-u", user, "--password-stdin", registry.address], { input: password, env: pushConfig });
    await pusher.docker(["tag", TEST_IMAGE, image]);
    await pusher.docker(["push", image], { env: pushConfig, timeoutMs: 120_000 });
    // The docker CLI aimed at shoal: the bearer token, and the registry login as `docker login` writes it.
    const config = tempDir("shoal-e2e-docker-config-");
    const auths = { [registry.address]: { auth: Buffer.from(`${user}:${password}`).toString("base64") } };
    writeFileSync(join(config, "config.json"), JSON.stringify({ HttpHeaders: { Authorization: `Bearer ${c.admin}` }, auths }));
    const { hostname, port } = new URL(c.controlPlane.url);
    env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: config, DOCKER_CONFIG: config, DOCKER_HOST: `tcp://${hostname.replace(/^localhost$/, "127.0.0.1")}:${port}/docker` };
  }, 300_000);
  afterAll(async () => {
    await registry?.stop();
    await c?.stop();
  }, 120_000);

  it("the host has not the image and its engine holds no login: the push needed one", async () => {
    await expect(puller().docker(["image", "inspect", image])).rejects.toThrow(/No such image/);
    // Anonymous, the registry refuses: what the next test's task meets.
    await expect(puller().docker(["pull", image], { env: { DOCKER_CONFIG: tempDir("shoal-e2e-anon-") } })).rejects.toThrow(/no basic auth credentials|unauthorized/);
  });

  it("without --with-registry-auth the task fails with the registry's auth error as its reason", async () => {
    const create = await docker("service", "create", "--detach", "--name", "anon", "--constraint", `node.hostname==${puller().name}`, "--restart-condition", "none", image, "sleep", "3600");
    expect(create, create.stderr).toMatchObject({ code: 0 });
    const error = await c.waitFor("the task's error", async () => {
      const ps = await docker("service", "ps", "--no-trunc", "--format", "{{.CurrentState}}|{{.Error}}", "anon");
      return ps.stdout.split("\n").find((l) => /\|.+/.test(l));
    });
    expect(error).toMatch(/^Rejected .*\|.*(no basic auth credentials|unauthorized)/);
    expect(await shoalContainers(puller(), true)).toEqual([]);
    expect((await docker("service", "rm", "anon")).code).toBe(0);
  });

  it("docker service create --with-registry-auth runs it there; inspect, events and the agent's log show nothing of the credentials", async () => {
    const create = await docker(
      "service", "create", "--with-registry-auth", "--name", "priv", "--constraint", `node.hostname==${puller().name}`, "--update-monitor", "1s", "--stop-grace-period", "0s", image, "sleep", "3600",
    );
    expect(create, create.stderr + create.stdout.slice(-500)).toMatchObject({ code: 0 });
    expect(create.stdout).toMatch(/verify: Service (\w+ )?converged/);
    const running = (await shoalContainers(puller())).filter((x) => x.state === "running");
    expect(running).toHaveLength(1);
    expect(await puller().docker(["image", "inspect", "--format", "{{index .RepoTags 0}}", image])).toBe(`${image}\n`);

    const inspect = await docker("service", "inspect", "priv");
    expect(inspect.code).toBe(0);
    expect(inspect.stdout).toContain(image);
    const shown = [inspect.stdout, (await docker("service", "ps", "--no-trunc", "priv")).stdout, JSON.stringify((await c.api("GET", "/v1/services/priv")).body), JSON.stringify((await c.api("GET", "/v1/events")).body)];
    for (const agent of c.agents.values()) shown.push(agent.output());
    for (const text of shown) {
      expect(text).not.toContain(password);
      expect(text).not.toContain(Buffer.from(`${user}:${password}`).toString("base64"));
    }

    // docker service update without the flag keeps them: a new task pulls again and runs.
    await puller().docker(["rmi", "-f", image]);
    const update = await docker("service", "update", "--force", "priv");
    expect(update, update.stderr).toMatchObject({ code: 0 });
    expect(update.stdout).toMatch(/verify: Service (\w+ )?converged/);
    await c.waitFor("the new task alone running", async () => (await shoalContainers(puller())).filter((x) => x.state === "running").length === 1);
    const tasks = (await docker("service", "ps", "--format", "{{.DesiredState}} {{.CurrentState}}", "priv")).stdout.trim().split("\n");
    expect(tasks).toHaveLength(2);
    expect(tasks.filter((l) => l.startsWith("Running Running"))).toHaveLength(1);
  });
});
