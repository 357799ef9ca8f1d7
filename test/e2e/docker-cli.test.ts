import { execFile } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBin } from "../cli/harness.js";
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
    // Agents in the hosts: the stack's overlay network carries traffic between them.
    c = await startShoalCluster({ hosts: 2, prefix: "dcli", agentsInHosts: true });
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
    // Resolved without a registry: no "could not be accessed on a registry" warning.
    expect(r.stderr).not.toMatch(/registry/);
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

  it("every docker CLI on this machine creates and updates a service by the tag given, asking /distribution, with no registry warning", async () => {
    const binaries = ["/usr/bin/docker", "/usr/local/bin/docker"].filter((b) => existsSync(b));
    expect(binaries.length).toBeGreaterThan(0);
    for (const [i, bin] of binaries.entries()) {
      const run = (...args: string[]) =>
        new Promise<Run>((resolve) => execFile(bin, args, { env, timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr })));
      const name = `tag${i}`;
      const create = await run("service", "create", "--detach", "--name", name, "--stop-grace-period", "0s", TEST_IMAGE, "sleep", "3600");
      expect(create, bin).toMatchObject({ code: 0, stderr: "" });
      const update = await run("service", "update", "--detach", "--image", v2, name);
      expect(update, bin).toMatchObject({ code: 0, stderr: "" });
      const spec = await run("service", "inspect", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}} {{.Spec.TaskTemplate.Placement.Platforms}} {{.PreviousSpec.TaskTemplate.ContainerSpec.Image}}", name);
      expect(spec.stdout, bin).toBe(`${v2} [] ${TEST_IMAGE}\n`);
      expect((await run("service", "rm", name)).code).toBe(0);
    }
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

  it("docker service logs shows every task's lines with docker's prefix, stderr apart; --tail and --raw work", async () => {
    const script = 'echo "out from $(hostname)"; echo "err from $(hostname)" >&2; exec sleep 3600';
    const create = await docker("service", "create", "--name", "talk", "--replicas", "2", "--replicas-max-per-node", "1", "--stop-grace-period", "0s", TEST_IMAGE, "sh", "-c", script);
    expect(create.code, create.stderr).toBe(0);
    const logs = await docker("service", "logs", "talk");
    expect(logs.code, logs.stderr).toBe(0);
    const prefix = /^talk\.([12])\.([0-9a-v]{12})@(\S+)\s+\| (.*)$/;
    const out = logs.stdout.trim().split("\n").map((l) => prefix.exec(l));
    const err = logs.stderr.trim().split("\n").map((l) => prefix.exec(l));
    expect(out.map((m) => m && `${m[1]} ${m[3]}`).sort()).toEqual(expect.arrayContaining([expect.stringMatching(/^1 /), expect.stringMatching(/^2 /)]));
    expect(out.every((m) => m && /^out from /.test(m[4]!))).toBe(true);
    expect(err.every((m) => m && /^err from /.test(m[4]!))).toBe(true);
    expect(new Set(out.map((m) => m![3])).size).toBe(2);
    // One line per task, bare: its stdout or its stderr line, whichever the engine logged last.
    const tail = await docker("service", "logs", "--tail", "1", "--raw", "talk");
    const last = [...tail.stdout.trim().split("\n"), ...tail.stderr.trim().split("\n")].filter(Boolean);
    expect(last).toHaveLength(2);
    expect(new Set(last.map((l) => /^(?:out|err) from (\w+)$/.exec(l)?.[1]))).toEqual(new Set(out.map((m) => /^out from (\w+)$/.exec(m![4]!)?.[1])));
    // dockerode reads the same logs: multiplexed frames (stream 1 stdout, 2 stderr), one line per frame, each task's lines.
    const { hostname, port } = new URL(c.controlPlane.url);
    const sdk = new Docker({ host: hostname, port: Number(port), protocol: "http", headers: { Authorization: `Bearer ${c.admin}` } });
    const raw = (await sdk.getService("talk").logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    const frames: { stream: number; text: string }[] = [];
    for (let at = 0; at + 8 <= raw.length; ) {
      const size = raw.readUInt32BE(at + 4);
      frames.push({ stream: raw[at]!, text: raw.subarray(at + 8, at + 8 + size).toString().trim() });
      at += 8 + size;
    }
    const hosts = new Set(out.map((m) => /^out from (\w+)$/.exec(m![4]!)?.[1]));
    expect(new Set(frames.filter((f) => f.stream === 1).map((f) => /^out from (\w+)$/.exec(f.text)?.[1]))).toEqual(hosts);
    expect(new Set(frames.filter((f) => f.stream === 2).map((f) => /^err from (\w+)$/.exec(f.text)?.[1]))).toEqual(hosts);
    expect((await docker("service", "rm", "talk")).code).toBe(0);
  }, 120_000);

  it("the same compose file through docker stack deploy and shoal stack deploy gives the same services: names, images, replicas, networks, labels", async () => {
    const dir = tempDir("shoal-e2e-parity-");
    const file = join(dir, "compose.yml");
    writeFileSync(
      file,
      [
        'version: "3.8"',
        "services:",
        "  api:",
        `    image: ${TEST_IMAGE}`,
        '    command: ["sleep", "3600"]',
        "    networks: [back, front]",
        "    labels: { role: api }",
        "    deploy: { replicas: 2, labels: { team: core } }",
        "  worker:",
        `    image: ${v2}`,
        '    command: ["sleep", "3600"]',
        "    networks: [back]",
        "    deploy: { replicas: 1 }",
        "networks:",
        "  back: { driver: overlay }",
        "  front: { driver: overlay, labels: { zone: edge } }",
        "",
      ].join("\n"),
    );
    const viaDocker = await docker("stack", "deploy", "-c", file, "viadocker");
    expect(viaDocker.code, viaDocker.stderr).toBe(0);
    const viaShoal = await runBin(["stack", "deploy", "-c", file, "viashoal"], { SHOAL_URL: c.controlPlane.url, SHOAL_TOKEN: c.admin });
    expect(viaShoal.code, viaShoal.stderr).toBe(0);
    const networkNames = new Map(
      (await docker("network", "ls", "--no-trunc", "--format", "{{.ID}} {{.Name}}")).stdout.trim().split("\n").map((l) => l.split(" ") as [string, string]),
    );
    // Each stack's services as docker service inspect shows them, the namespace written as NS.
    const services = async (ns: string) => {
      const ids = (await docker("stack", "services", "-q", ns)).stdout.trim().split("\n");
      const inspected = JSON.parse((await docker("service", "inspect", ...ids)).stdout) as any[];
      const strip = (text: string) => text.split(ns).join("NS");
      return inspected
        .map(({ Spec }) => ({
          name: strip(Spec.Name),
          image: Spec.TaskTemplate.ContainerSpec.Image,
          command: Spec.TaskTemplate.ContainerSpec.Args ?? Spec.TaskTemplate.ContainerSpec.Command,
          replicas: Spec.Mode.Replicated?.Replicas,
          labels: JSON.parse(strip(JSON.stringify(Spec.Labels ?? {}))),
          containerLabels: JSON.parse(strip(JSON.stringify(Spec.TaskTemplate.ContainerSpec.Labels ?? {}))),
          networks: (Spec.TaskTemplate.Networks ?? []).map((n: any) => ({ name: strip(networkNames.get(n.Target) ?? n.Target), aliases: n.Aliases })).sort((a: any, b: any) => a.name.localeCompare(b.name)),
        }))
        .sort((a, b) => a.name.localeCompare(b.name));
    };
    const networks = async (ns: string) =>
      (await docker("network", "ls", "--filter", `label=com.docker.stack.namespace=${ns}`, "--format", "{{.Name}} {{.Driver}} {{.Labels}}")).stdout.split(ns).join("NS").trim().split("\n")
        // The CLI prints a network's labels in Go's map order, which varies from run to run.
        .map((l) => l.replace(/ (\S+)$/, (_, labels: string) => ` ${labels.split(",").sort().join(",")}`))
        .sort();
    const networksOf = { dk: await networks("viadocker"), sh: await networks("viashoal") };
    const [dk, sh] = [await services("viadocker"), await services("viashoal")];
    for (const ns of ["viadocker", "viashoal"]) expect((await docker("stack", "rm", ns)).code).toBe(0);
    expect(dk.map((s) => `${s.name} ${s.image} ${s.replicas} ${s.networks.map((n: any) => n.name).join(",")}`)).toEqual([
      `NS_api ${TEST_IMAGE} 2 NS_back,NS_front`,
      `NS_worker ${v2} 1 NS_back`,
    ]);
    expect(dk[0]!.labels).toMatchObject({ team: "core", "com.docker.stack.namespace": "NS" });
    expect(dk[0]!.labels["com.docker.stack.image"]).toBe(TEST_IMAGE);
    expect(sh).toEqual(dk);
    expect(networksOf.sh).toEqual(networksOf.dk);
    expect(networksOf.dk).toEqual(["NS_back overlay com.docker.stack.namespace=NS", "NS_front overlay com.docker.stack.namespace=NS,zone=edge"]);
  }, 180_000);

  it("docker stack deploy creates the stack's network, secret and services, which reach each other by name; ls, services, ps and rm", async () => {
    const dir = join(tempDir("shoal-e2e-stack-"), "st");
    mkdirSync(dir);
    writeFileSync(join(dir, "db_password.txt"), "s3cret\n");
    writeFileSync(join(dir, "app.conf"), "mode=test\n");
    writeFileSync(
      join(dir, "compose.yml"),
      [
        'version: "3.8"',
        "services:",
        "  web:",
        `    image: ${TEST_IMAGE}`,
        '    command: ["sh", "-c", "mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 80 -h /www"]',
        "    networks: [front]",
        "    secrets: [db_password]",
        "    deploy: { replicas: 2, placement: { max_replicas_per_node: 1 } }",
        "  client:",
        `    image: ${TEST_IMAGE}`,
        '    command: ["sleep", "3600"]',
        "    networks: [front]",
        "    configs: [{ source: app_conf, target: /etc/app.conf }]",
        "networks:",
        "  front: { driver: overlay }",
        "secrets:",
        "  db_password: { file: ./db_password.txt }",
        "configs:",
        "  app_conf: { file: ./app.conf }",
        "",
      ].join("\n"),
    );
    const deploy = await docker("stack", "deploy", "-c", join(dir, "compose.yml"), "st");
    expect(deploy.code, deploy.stderr).toBe(0);
    expect(deploy.stdout).toMatch(/Creating network st_front/);
    expect(deploy.stdout).toMatch(/Creating secret st_db_password/);
    expect(deploy.stdout).toMatch(/Creating config st_app_conf/);
    expect(deploy.stdout).toMatch(/Creating service st_web/);
    expect(deploy.stdout).toMatch(/Creating service st_client/);
    expect((await docker("stack", "ls", "--format", "{{.Name}} {{.Services}}")).stdout).toBe("st 2\n");
    expect((await docker("network", "ls", "--filter", "label=com.docker.stack.namespace=st", "--format", "{{.Name}} {{.Driver}} {{.Scope}}")).stdout).toBe("st_front overlay swarm\n");
    expect((await docker("secret", "ls", "--format", "{{.Name}}")).stdout).toBe("st_db_password\n");
    await c.waitFor("st_web 2/2 and st_client 1/1", async () => {
      const rows = (await docker("stack", "services", "st", "--format", "{{.Name}} {{.Replicas}}")).stdout.trim().split("\n").sort();
      // With max_replicas_per_node docker shows "2/2 (max 1 per node)".
      return rows.join(",") === "st_client 1/1,st_web 2/2 (max 1 per node)";
    }, 120_000).catch(async (err) => {
      throw new Error(`${err.message}\n${(await docker("stack", "ps", "st", "--no-trunc")).stdout}`);
    });
    const ps = await docker("stack", "ps", "st", "--filter", "desired-state=running", "--format", "{{.Name}} {{.CurrentState}}");
    expect(ps.stdout.trim().split("\n").map((l) => l.split(" ")[0]).sort()).toEqual(["st_client.1", "st_web.1", "st_web.2"]);

    // The client reaches web by its short compose name (the alias stack deploy gives), through the VIP, from either host.
    const client = (await Promise.all(c.hosts.hosts.map(async (h) => ({ h, x: (await shoalContainers(h)).find((x) => x.name.startsWith("st_client.")) })))).find((p) => p.x)!;
    const answer = await c.waitFor("web answers the client by name", async () => {
      const out = await client.h.docker(["exec", client.x!.id, "sh", "-c", "timeout 5 wget -q -O- http://web/ 2>&1 || true"], { timeoutMs: 30_000 });
      return out.includes("hello-from-web") && out;
    });
    expect(answer.trim()).toBe("hello-from-web");

    // A redeploy of the same file changes nothing and is accepted (the secret's unchanged data sent again).
    const again = await docker("stack", "deploy", "-c", join(dir, "compose.yml"), "st");
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/Updating service st_web/);
    // A changed secret file under the same name is refused, as Swarm refuses it.
    writeFileSync(join(dir, "db_password.txt"), "changed\n");
    const changed = await docker("stack", "deploy", "-c", join(dir, "compose.yml"), "st");
    expect(changed.code).toBe(1);
    expect(changed.stderr).toMatch(/only updates to labels are allowed/);

    const rm = await docker("stack", "rm", "st");
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stdout).toMatch(/Removing service st_web/);
    expect(rm.stdout).toMatch(/Removing secret st_db_password/);
    expect(rm.stdout).toMatch(/Removing network st_front/);
    await c.waitFor("no containers of the stack", async () => (await runningOnHosts()).filter((x) => x.name.startsWith("st_")).length === 0);
    expect((await docker("stack", "ls", "--format", "{{.Name}}")).stdout).toBe("");
    expect((await docker("network", "ls", "--format", "{{.Name}}")).stdout).toBe("ingress\n");
    expect((await docker("secret", "ls", "-q")).stdout).toBe("");
    expect((await docker("config", "ls", "-q")).stdout).toBe("");

    // docker events shows the stack's network, secret and config as a swarm manager streams them, by type.
    const until = new Date(Date.now() + 1500).toISOString();
    const events = await docker("events", "--since", "10m", "--until", until, "--filter", "type=network", "--filter", "type=secret", "--filter", "type=config", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Scope}}");
    expect(events.code, events.stderr).toBe(0);
    // Only this stack's (the parity test's stacks came and went before).
    expect(events.stdout.trim().split("\n").filter((l) => / st_/.test(l))).toEqual([
      "network create st_front swarm",
      "secret create st_db_password swarm",
      "config create st_app_conf swarm",
      // The redeploy sends the secret and the config again: an update each, as in Swarm; the changed secret is refused before the config.
      "secret update st_db_password swarm",
      "config update st_app_conf swarm",
      "secret remove st_db_password swarm",
      "config remove st_app_conf swarm",
      "network remove st_front swarm",
    ]);
    const networkOnly = await docker("events", "--since", "10m", "--until", until, "--filter", "type=network", "--filter", "network=st_front", "--format", "{{.Action}}");
    expect(networkOnly.stdout).toBe("create\nremove\n");
  }, 300_000);
});
