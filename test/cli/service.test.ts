import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { memoryDir } from "../helpers/temp.js";
import { expectTable, startCliCluster, type CliCluster } from "./harness.js";

let c: CliCluster;
beforeAll(async () => {
  c = await startCliCluster(["host-1", "host-2"]);
});
afterAll(() => c?.stop());

const psColumns = ["ID", "NAME", "IMAGE", "NODE", "DESIRED STATE", "CURRENT STATE", "ERROR", "PORTS"];
const bar = `[${"=".repeat(50)}>]`;

describe("shoal service", () => {
  it("create -d prints the id at once; flags arrive in the API's units", async () => {
    const envFile = join(memoryDir("shoal-env-"), "app.env");
    writeFileSync(envFile, "# comment\nFROM_FILE=1\n\n");
    const out = await c.ok(
      "service", "create", "-d", "--name", "api", "--replicas", "2",
      "-p", "8080:80", "-p", "8081:81",
      "-e", "LOG=debug", "--env-file", envFile, "--label", "tier=back",
      "--limit-memory", "512M", "--reserve-cpu", "0.25", "--restart-delay", "10s", "--update-monitor", "1s",
      "--constraint", "node.role==worker", "--mount", "type=tmpfs,target=/cache",
      "busybox:1", "sleep", "1000", "--not-an-option-but-an-arg",
    );
    expect(out).toMatch(/^svc_[a-v0-9]{20}\n$/);
    const [svc] = JSON.parse(await c.ok("service", "inspect", "api"));
    expect(svc.id).toBe(out.trim());
    expect(svc.spec).toMatchObject({
      name: "api",
      replicas: 2,
      labels: { tier: "back" },
      update: { monitorMs: 1000 },
      endpoint: { ports: [{ targetPort: 80, publishedPort: 8080 }, { targetPort: 81, publishedPort: 81 + 8000 }] },
      task: {
        container: { image: "busybox:1", args: ["sleep", "1000", "--not-an-option-but-an-arg"], env: ["FROM_FILE=1", "LOG=debug"], mounts: [{ type: "tmpfs", target: "/cache" }] },
        resources: { limits: { memoryBytes: 512 * 1024 ** 2 }, reservations: { nanoCpus: 250_000_000 } },
        restartPolicy: { delayMs: 10_000 },
        placement: { constraints: ["node.role==worker"] },
      },
    });
  });

  it("create without -d waits and shows docker's convergence progress", async () => {
    const out = await c.ok("service", "create", "--name", "web", "--replicas", "3", "--update-monitor", "1s", "busybox:1");
    const lines = out.split("\n");
    expect(lines[0]).toMatch(/^svc_\w+$/);
    expect(lines).toContain("overall progress: 3 out of 3 tasks ");
    for (const slot of ["1/3", "2/3", "3/3"]) expect(lines).toContain(`${slot}: running   ${bar} `);
    expect(lines.slice(-3)).toEqual(["verify: Waiting 1 seconds to verify that tasks are stable... ", "verify: Service converged ", ""]);
    const quiet = await c.ok("service", "create", "-q", "--name", "quiet", "--update-monitor", "1s", "busybox:1");
    expect(quiet).toMatch(/^svc_\w+\n$/);
  });

  it("ls prints docker's columns with replicas and ingress ports; -q, json, templates, filters, --no-trunc", async () => {
    await expect.poll(async () => c.ok("service", "ls", "--format", "{{.Replicas}}"), { timeout: 10_000 }).toBe("2/2\n1/1\n3/3\n");
    const out = await c.ok("service", "ls");
    const ids = JSON.parse(await c.ok("service", "inspect", "-f", "json", "api", "quiet", "web")).map((s: { id: string }) => s.id.slice(0, 12));
    expect(out).toBe(
      [
        "ID             NAME      MODE         REPLICAS   IMAGE       PORTS",
        `${ids[0]}   api       replicated   2/2        busybox:1   *:8080-8081->80-81/tcp`,
        `${ids[1]}   quiet     replicated   1/1        busybox:1   `,
        `${ids[2]}   web       replicated   3/3        busybox:1   `,
        "",
      ].join("\n"),
    );
    expect(await c.ok("service", "ls", "-q")).toBe(ids.map((id: string) => `${id}\n`).join(""));
    expect((await c.ok("service", "ls", "-q", "--no-trunc")).split("\n")[0]).toHaveLength(24);
    expect(JSON.parse((await c.ok("service", "ls", "--format", "json")).split("\n")[0]!)).toEqual({
      ID: ids[0],
      Image: "busybox:1",
      Mode: "replicated",
      Name: "api",
      Ports: "*:8080-8081->80-81/tcp",
      Replicas: "2/2",
    });
    expect(await c.ok("service", "ls", "--format", "{{.Name}} {{.Mode}}", "-f", "name=w")).toBe("web replicated\n");
    expect(await c.ok("service", "ls", "--format", "table {{.Name}}\\t{{.Replicas}}", "-f", "label=tier=back")).toBe("NAME      REPLICAS\napi       2/2\n");
  });

  it("ps prints docker's columns; older tasks of a slot indented after an update", async () => {
    const updated = await c.ok("service", "update", "--image", "busybox:2", "--env-add", "A=1", "--update-parallelism", "0", "web");
    expect(updated.split("\n")[0]).toBe("web");
    expect(updated).toContain("verify: Service converged");
    const rows = expectTable(await c.ok("service", "ps", "web"), undefined, psColumns);
    expect(rows.map((r) => [r[1], r[2], r[4]])).toEqual([
      ["web.1", "busybox:2", "Running"],
      [" \\_ web.1", "busybox:1", "Shutdown"],
      ["web.2", "busybox:2", "Running"],
      [" \\_ web.2", "busybox:1", "Shutdown"],
      ["web.3", "busybox:2", "Running"],
      [" \\_ web.3", "busybox:1", "Shutdown"],
    ]);
    for (const r of rows) {
      expect(r[0]).toMatch(/^task_[a-v0-9]{7}$/);
      expect(["host-1", "host-2"]).toContain(r[3]);
      expect(r[5]).toMatch(/^(Running|Shutdown) (less than a second|\d+ seconds?) ago$/);
    }
    expect((await c.ok("service", "ps", "-q", "-f", "desired-state=running", "web")).trim().split("\n")).toHaveLength(3);
    expect((await c.ok("service", "ps", "-q", "--no-trunc", "web")).split("\n")[0]).toHaveLength(25);
    const json = JSON.parse((await c.ok("service", "ps", "--format", "json", "web")).split("\n")[1]!);
    expect(Object.keys(json)).toEqual(["CurrentState", "DesiredState", "Error", "ID", "Image", "Name", "Node", "Ports"]);
    expect(json).toMatchObject({ Name: "web.1", Image: "busybox:1", DesiredState: "Shutdown" });
    expect(await c.ok("service", "ps", "--format", "{{.Name}}", "-f", "name=web.2", "-f", "desired-state=running", "web")).toBe("web.2\n");
  });

  it("update --x-add / --x-rm and scalar flags change the spec; -d returns at once", async () => {
    const out = await c.ok(
      "service", "update", "-d", "--env-rm", "A", "--env-add", "B=2", "--label-add", "team=x", "--publish-add", "9090:90",
      "--constraint-add", "node.labels.zone!=dmz", "--restart-condition", "on-failure", "--update-delay", "1m30s", "--force", "web",
    );
    expect(out).toBe("web\n");
    const [svc] = JSON.parse(await c.ok("service", "inspect", "web"));
    expect(svc.spec).toMatchObject({
      labels: { team: "x" },
      update: { delayMs: 90_000, parallelism: 0 },
      endpoint: { ports: [{ targetPort: 90, publishedPort: 9090 }] },
      task: { forceUpdate: 1, restartPolicy: { condition: "on-failure" }, placement: { constraints: ["node.labels.zone!=dmz"] }, container: { env: ["B=2"] } },
    });
    const pretty = await c.ok("service", "inspect", "--pretty", "web");
    expect(pretty).toContain(`ID:\t\t${svc.id}\nName:\t\tweb\nLabels:\n team=x\nService Mode:\tReplicated\n Replicas:\t3\n`);
    expect(pretty).toContain("UpdateConfig:\n Parallelism:\t0\n Delay:\t\t1m30s\n On failure:\tpause\n Monitoring Period: 1s\n");
    expect(pretty).toContain("Ports:\n PublishedPort = 9090\n  Protocol = tcp\n  TargetPort = 90\n  PublishMode = ingress\n");
    expect(await c.ok("service", "inspect", "-f", "{{.Spec.Name}} {{.Version}}", "web")).toMatch(/^web \d+\n$/);
    // Docker's field names, for scripts written against docker service inspect.
    expect(await c.ok("service", "inspect", "-f", "{{.Spec.Mode.Replicated.Replicas}} {{.Spec.TaskTemplate.ContainerSpec.Image}} {{.Version.Index}}", "web")).toMatch(/^3 busybox:\S+ \d+\n$/);
  });

  it("scale prints each service and waits for it; bad specifiers are usage errors; global services refuse (API message)", async () => {
    const out = await c.ok("service", "scale", "web=4", "quiet=0");
    const lines = out.split("\n");
    expect(lines.slice(0, 2)).toEqual(["web scaled to 4", "quiet scaled to 0"]);
    expect(lines).toContain("overall progress: 4 out of 4 tasks ");
    expect(lines).toContain("overall progress: 0 out of 0 tasks ");
    expect(lines.filter((l) => l === "verify: Service converged ")).toHaveLength(2);
    const bad = await c.shoal("service", "scale", "web:3");
    expect(bad).toMatchObject({ code: 2, stderr: "error: invalid scale specifier 'web:3': write SERVICE=REPLICAS, like web=3\nSee 'shoal service scale --help'.\n" });
    const global = await c.ok("service", "create", "--mode", "global", "--name", "agentish", "--update-monitor", "1s", "busybox:1");
    expect(global).toContain("overall progress: 2 out of 2 tasks ");
    const nodeIds = c.agents.map((a) => a.nodeId.slice(0, 12));
    for (const id of nodeIds) expect(global).toContain(`${id}: running   ${bar} `);
    const refused = await c.shoal("service", "scale", "agentish=3");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe("Error: service agentish is global: only replicated services scale\n");
  });

  it("an update whose tasks fail pauses and exits 1 with why; rollback returns to the previous spec", async () => {
    await c.ok("service", "create", "--name", "roll", "--replicas", "2", "--update-monitor", "1s", "--restart-delay", "1s", "busybox:1");
    const failed = await c.shoal("service", "update", "--image", "broken:2", "roll");
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/update paused due to failure or early termination of task task_/);
    const [paused] = JSON.parse(await c.ok("service", "inspect", "roll"));
    expect(paused.updateStatus.state).toBe("paused");
    const back = await c.shoal("service", "rollback", "roll");
    expect(back).toMatchObject({ code: 0, stderr: "" });
    expect(back.stdout).toContain("Service converged");
    const [svc] = JSON.parse(await c.ok("service", "inspect", "roll"));
    expect(svc.spec.task.container.image).toBe("busybox:1");
    expect(svc.updateStatus.state).toBe("rollback_completed");
    const images = (await c.ok("service", "ps", "--format", "{{.Image}} {{.DesiredState}}", "roll")).trim().split("\n");
    expect(images.filter((l) => l.endsWith("Running"))).toEqual(["busybox:1 Running", "busybox:1 Running"]);
  });

  it("errors: the API's message and exit 1; bad flag values exit 2 with the hint", async () => {
    const missing = await c.shoal("service", "update", "--image", "x", "nope");
    expect(missing).toMatchObject({ code: 1, stderr: "Error: service nope not found\n" });
    const invalid = await c.shoal("service", "create", "-d", "--name", "bad.name", "busybox:1");
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/^Error: .*body\.name/);
    const flag = await c.shoal("service", "update", "--limit-memory", "lots", "web");
    expect(flag).toMatchObject({
      code: 2,
      stderr: 'error: invalid argument for --limit-memory: "lots" is not a memory size: write it like 512M, 1G or 1048576 (bytes)\nSee \'shoal service update --help\'.\n',
    });
    const noFlag = await c.shoal("service", "create", "--replicas", "busybox:1");
    expect(noFlag.code).toBe(2);
  });

  it("create without --name names the service as docker does, adjective_surname", async () => {
    const id = (await c.ok("service", "create", "-d", "--replicas", "0", "busybox:1")).trim();
    const [svc] = JSON.parse(await c.ok("service", "inspect", id));
    expect(svc.spec.name).toMatch(/^[a-z]+_[a-z]+$/);
    await c.ok("service", "rm", id);
  });

  it("rm removes each service it can, prints them, and exits 1 naming the ones it could not", async () => {
    const out = await c.shoal("service", "rm", "quiet", "nope", "agentish");
    expect(out).toEqual({ code: 1, stdout: "quiet\nagentish\n", stderr: "Error: service nope not found\n" });
    expect(await c.ok("service", "ls", "--format", "{{.Name}}")).toBe("api\nroll\nweb\n");
  });
});
