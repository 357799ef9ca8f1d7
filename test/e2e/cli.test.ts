import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBin } from "../cli/harness.js";
import { tempDir } from "../helpers/processes.js";
import { shoalContainers, startShoalCluster, type ShoalCluster } from "./cluster.js";
import { TEST_IMAGE, tagTestImage } from "./hosts.js";

/** The real CLI binary against a cluster of real engines: docker's progress display while tasks converge. */
describe("shoal CLI on real engines", () => {
  let c: ShoalCluster;
  let v2 = "";
  const shoal = (...args: string[]) => runBin(args, { SHOAL_URL: c.controlPlane.url, SHOAL_TOKEN: c.admin });
  beforeAll(async () => {
    c = await startShoalCluster({ hosts: 2, prefix: "clie" });
    v2 = await tagTestImage(c.hosts, "2");
  }, 240_000);
  afterAll(() => c?.stop(), 120_000);

  it("service create waits and shows convergence, a line per slot", async () => {
    const r = await shoal("service", "create", "--name", "prog", "--replicas", "4", "--update-monitor", "1s", "--stop-grace-period", "0s", TEST_IMAGE, "sleep", "3600");
    expect(r).toMatchObject({ code: 0, stderr: "" });
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(/^svc_\w+$/);
    expect(lines).toContain("overall progress: 4 out of 4 tasks ");
    for (const slot of ["1/4", "2/4", "3/4", "4/4"]) expect(lines.some((l) => l.startsWith(`${slot}: running `))).toBe(true);
    expect(lines).toContain("verify: Service converged ");
    const ls = await shoal("node", "ls", "--format", "{{.Hostname}} {{.Status}}");
    expect(ls.stdout.trim().split("\n").sort()).toEqual(c.hosts.hosts.map((h) => `${h.name} Ready`).sort());
  });

  it("service update rolls to the new image; ps shows the replaced tasks under their slot", async () => {
    const r = await shoal("service", "update", "--image", v2, "--update-parallelism", "2", "prog");
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toContain("verify: Service converged");
    const ps = await shoal("service", "ps", "--format", "{{.Name}} {{.Image}} {{.DesiredState}}", "prog");
    const rows = ps.stdout.trim().split("\n");
    expect(rows.filter((l) => l.endsWith(`${v2} Running`))).toHaveLength(4);
    expect(rows.filter((l) => l.endsWith(`${TEST_IMAGE} Shutdown`))).toHaveLength(4);
  });

  it("an update whose healthcheck fails pauses: exit 1 with the reason; rollback converges back", async () => {
    const r = await shoal("service", "update", "--image", TEST_IMAGE, "--health-cmd", "false", "--health-interval", "1s", "--health-retries", "1", "--update-failure-action", "pause", "prog");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/update paused due to failure or early termination of task task_/);
    const back = await shoal("service", "rollback", "prog");
    expect(back).toMatchObject({ code: 0, stderr: "" });
    const ps = await shoal("service", "ps", "-f", "desired-state=running", "--format", "{{.Image}} {{.CurrentState}}", "prog");
    const rows = ps.stdout.trim().split("\n");
    expect(rows).toHaveLength(4);
    expect(rows.every((l) => l.startsWith(`${v2} Running`))).toBe(true);
  });

  it("stack deploy --detach=false runs a compose file on the engines; stack rm cleans up", async () => {
    const dir = tempDir("shoal-e2e-stack-");
    const file = join(dir, "compose.yml");
    writeFileSync(
      file,
      [
        "services:",
        "  db:",
        "    image: ${IMAGE}",
        '    command: ["sleep", "3600"]',
        "    healthcheck: { test: [CMD, 'true'], interval: 1s, retries: 1 }",
        "  web:",
        "    image: ${IMAGE}",
        '    command: ["sleep", "3600"]',
        "    depends_on: [db]",
        "    deploy: { replicas: 2 }",
        "",
      ].join("\n"),
    );
    const deploy = await runBin(["stack", "deploy", "--detach=false", "-c", file, "demo"], {
      SHOAL_URL: c.controlPlane.url,
      SHOAL_TOKEN: c.admin,
      IMAGE: TEST_IMAGE,
    });
    expect(deploy).toMatchObject({ code: 0, stderr: "" });
    expect(deploy.stdout).toContain("Creating service demo_db");
    expect(deploy.stdout).toContain("Creating service demo_web");
    const ps = await shoal("stack", "ps", "-f", "desired-state=running", "--format", "{{.Name}} {{.CurrentState}}", "demo");
    const rows = ps.stdout.trim().split("\n").sort();
    expect(rows.map((r) => r.split(" ")[0])).toEqual(["demo_db.1", "demo_web.1", "demo_web.2"]);
    expect(rows.every((r) => / Running /.test(r))).toBe(true);
    const containers = (await Promise.all(c.hosts.hosts.map((h) => shoalContainers(h)))).flat().filter((x) => x.name.startsWith("demo_"));
    expect(containers).toHaveLength(3);
    expect((await shoal("stack", "rm", "demo")).code).toBe(0);
    await c.waitFor("stack containers gone", async () =>
      (await Promise.all(c.hosts.hosts.map((h) => shoalContainers(h, true)))).flat().every((x) => !x.name.startsWith("demo_")),
    );
  });
});
