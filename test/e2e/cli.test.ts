import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runShoal } from "../cli/harness.js";
import { startShoalCluster, type ShoalCluster } from "./cluster.js";
import { TEST_IMAGE, tagTestImage } from "./hosts.js";

/** The real CLI binary against a cluster of real engines: docker's progress display while tasks converge. */
describe("shoal CLI on real engines", () => {
  let c: ShoalCluster;
  let v2 = "";
  const shoal = (...args: string[]) => runShoal(args, { SHOAL_URL: c.controlPlane.url, SHOAL_TOKEN: c.admin });
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
});
