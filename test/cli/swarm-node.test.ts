import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestAgent } from "../helpers/test-agent.js";
import { memoryDir } from "../helpers/temp.js";
import { expectTable, runBin, runShoal, startCliCluster, type CliCluster } from "./harness.js";

let c: CliCluster;
beforeAll(async () => {
  c = await startCliCluster(["host-1", "host-2"]);
});
afterAll(() => c?.stop());

const nodeHeader = "ID                            HOSTNAME   STATUS    AVAILABILITY   MANAGER STATUS   ENGINE VERSION";
const nodeColumns = ["ID", "HOSTNAME", "STATUS", "AVAILABILITY", "MANAGER STATUS", "ENGINE VERSION"];

describe("shoal swarm", () => {
  it("the embedded server logged the CLI in: config file mode 0600; swarm info works with no other setup", async () => {
    expect(statSync(c.configPath).mode & 0o777).toBe(0o600);
    const info = await c.ok("swarm", "info");
    expect(info).toMatch(/^Swarm: active\n ClusterID: clu_\w+\n/);
    expect(info).toContain(" Nodes: 2\n");
    expect(info).toContain("  Task History Retention Limit: 5\n");
    expect(await c.ok("swarm", "info", "--format", "{{.Spec.TaskHistoryLimit}} {{.status.nodeCount}}")).toBe("5 2\n");
    expect(JSON.parse(await c.ok("swarm", "info", "--format", "json"))).toMatchObject([{ spec: { heartbeatPeriodMs: 2000 } }]);
  });

  it("join-token prints the agent's join command, -q only the token, --rotate a new one", async () => {
    const out = await c.ok("swarm", "join-token", "worker");
    const token = await c.joinToken();
    expect(out).toBe(
      `To add a worker to this swarm, run the following command on the Docker host, in a clone of shoal:\n\n    SHOAL_JOIN_TOKEN=${token} node agent/bin/shoal-agent.mjs join --url ${c.server.url}\n\n`,
    );
    const rotated = await c.ok("swarm", "join-token", "--rotate", "manager");
    expect(rotated).toMatch(/^Successfully rotated manager join token\.\n\nTo add a manager to this swarm/);
    const manager = (await c.ok("swarm", "join-token", "-q", "manager")).trim();
    expect(rotated).toContain(manager);
    expect(await c.joinToken()).toBe(token);
    const bad = await c.shoal("swarm", "join-token", "admin");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("error: unknown role admin: worker or manager\nSee 'shoal swarm join-token --help'.\n");
  });

  it("update converts durations and reports; bad values are usage errors; nothing to change is one too", async () => {
    expect(await c.ok("swarm", "update", "--task-history-limit", "7", "--dispatcher-heartbeat", "3s")).toBe("Swarm updated.\n");
    expect(await c.ok("swarm", "info", "--format", "{{.Spec.TaskHistoryLimit}} {{.Spec.HeartbeatPeriodMs}}")).toBe("7 3000\n");
    const bad = await c.shoal("swarm", "update", "--dispatcher-heartbeat", "3");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: invalid argument for --dispatcher-heartbeat: "3" is not a duration.*\nSee 'shoal swarm update --help'\.\n$/);
    expect((await c.shoal("swarm", "update")).code).toBe(2);
    const refused = await c.shoal("swarm", "update", "--task-history-limit", "1000");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^Error: .*taskHistoryLimit/);
  });
});

describe("shoal node", () => {
  it("ls prints docker's columns, sorted by hostname; -q ids; json; templates; filters", async () => {
    const rows = expectTable(await c.ok("node", "ls"), nodeHeader, nodeColumns);
    expect(rows).toEqual(
      c.agents.map((a) => [a.nodeId, a.hostname, "Ready", "Active", "", "27.3.1"]).sort((x, y) => x[1]!.localeCompare(y[1]!)),
    );
    expect((await c.ok("node", "ls", "-q")).trim().split("\n").sort()).toEqual(c.agents.map((a) => a.nodeId).sort());
    const json = (await c.ok("node", "ls", "--format", "json")).trim().split("\n").map((l) => JSON.parse(l));
    expect(json[0]).toEqual({
      Availability: "Active",
      EngineVersion: "27.3.1",
      Hostname: "host-1",
      ID: c.agents[0]!.nodeId,
      ManagerStatus: "",
      Self: "false",
      Status: "Ready",
      TLSStatus: "Unknown",
    });
    expect(await c.ok("node", "ls", "--format", "{{.Hostname}}: {{.Status}}")).toBe("host-1: Ready\nhost-2: Ready\n");
    expect(await c.ok("node", "ls", "--format", "table {{.Hostname}}\\t{{.Availability}}")).toBe("HOSTNAME   AVAILABILITY\nhost-1     Active\nhost-2     Active\n");
    expect(await c.ok("node", "ls", "-f", "name=host-2", "--format", "{{.Hostname}}")).toBe("host-2\n");
    const bad = await c.shoal("node", "ls", "-f", "colour=red");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("invalid filter 'colour'");
    const template = await c.shoal("node", "ls", "--format", "{{.Nope}}");
    expect(template.code).toBe(2);
    expect(template.stderr).toContain("no field Nope");
  });

  it("update, promote, demote; inspect shows the changes as JSON and --pretty", async () => {
    expect(await c.ok("node", "update", "--label-add", "zone=a", "--label-add", "ssd", "--availability", "pause", "host-1")).toBe("host-1\n");
    expect(await c.ok("node", "promote", "host-1")).toBe("Node host-1 promoted to a manager in the swarm.\n");
    expect(await c.ok("node", "promote", "host-1")).toBe("Node host-1 is already a manager.\n");
    const [node] = JSON.parse(await c.ok("node", "inspect", "host-1"));
    expect(node.spec).toEqual({ role: "manager", availability: "pause", labels: { zone: "a", ssd: "" } });
    const rows = expectTable(await c.ok("node", "ls"), nodeHeader, nodeColumns);
    expect(rows[0]!.slice(1, 5)).toEqual(["host-1", "Ready", "Pause", "Reachable"]);
    const pretty = await c.ok("node", "inspect", "--pretty", "host-1");
    expect(pretty).toContain(`ID:\t\t\t${c.agents[0]!.nodeId}\nLabels:\n - zone=a\n - ssd\nHostname:              \thost-1\n`);
    expect(pretty).toContain(" Availability:         \tPause\n");
    expect(pretty).toContain("Resources:\n CPUs:\t\t\t4\n Memory:\t\t8GiB\n");
    expect(await c.ok("node", "inspect", "-f", "{{.Description.Hostname}} {{.Spec.Role}}", "host-1", "host-2")).toBe("host-1 manager\nhost-2 worker\n");
    expect(await c.ok("node", "inspect", "-f", "{{.Status.State}} {{.Spec.Availability}} {{.Version.Index}}", "host-1")).toMatch(/^ready pause \d+\n$/);
    expect(await c.ok("node", "demote", "host-1")).toBe("Manager host-1 demoted in the swarm.\n");
    expect(await c.ok("node", "update", "--label-rm", "ssd", "--availability", "active", "host-1")).toBe("host-1\n");
    expect(JSON.parse(await c.ok("node", "inspect", "host-1"))[0].spec).toEqual({ role: "worker", availability: "active", labels: { zone: "a" } });
    const bad = await c.shoal("node", "update", "--availability", "asleep", "host-1");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("See 'shoal node update --help'.");
  });

  it("ps lists a node's tasks in docker's columns", async () => {
    await c.ok("service", "create", "-d", "--name", "pinned", "--constraint", "node.hostname==host-2", "--replicas", "2", "busybox:1");
    await expect.poll(async () => (await c.ok("node", "ps", "host-2", "--format", "{{.CurrentState}}")).split("\n")[0], { timeout: 10_000 }).toMatch(/^Running /);
    const rows = expectTable(
      await c.ok("node", "ps", "host-2"),
      undefined,
      ["ID", "NAME", "IMAGE", "NODE", "DESIRED STATE", "CURRENT STATE", "ERROR", "PORTS"],
    );
    expect(rows.map((r) => [r[0]!.length, r[1], r[2], r[3], r[4], r[6], r[7]])).toEqual([
      [12, "pinned.1", "busybox:1", "host-2", "Running", "", ""],
      [12, "pinned.2", "busybox:1", "host-2", "Running", "", ""],
    ]);
    expect((await c.ok("node", "ps", "host-2")).split("\n")[0]).toMatch(/^ID {13}NAME {7}IMAGE {7}NODE {6}DESIRED STATE {3}CURRENT STATE {3,}ERROR {5}PORTS$/);
    expect(rows[0]![5]).toMatch(/^Running (less than a second|\d+ seconds?) ago$/);
    expect((await c.ok("node", "ps", "-q", "--no-trunc", "host-2")).trim().split("\n")).toHaveLength(2);
    expect(await c.ok("node", "ps", "host-1")).toBe(
      "ID        NAME      IMAGE     NODE      DESIRED STATE   CURRENT STATE   ERROR     PORTS\n",
    );
    await c.ok("service", "rm", "pinned");
  });

  it("rm refuses a ready node with the API's message (exit 1); -f removes it; an unknown node is exit 1", async () => {
    const extra = await startTestAgent(c.server.url, "host-9", await c.joinToken());
    try {
      const refused = await c.shoal("node", "rm", "host-9");
      expect(refused.code).toBe(1);
      expect(refused.stderr).toBe(`Error: node ${extra.nodeId} is ready and can't be removed: stop its agent first, or force the removal\n`);
      expect(await c.ok("node", "rm", "-f", "host-9")).toBe("host-9\n");
      const missing = await c.shoal("node", "inspect", "host-9");
      expect(missing.code).toBe(1);
      expect(missing.stderr).toBe("Error: node host-9 not found\n");
    } finally {
      await extra.stop();
    }
  });
});

describe("usage", () => {
  it("--help on every command exits 0 with its usage line", async () => {
    const commands = [
      [],
      ["swarm"],
      ["swarm", "info"],
      ["swarm", "join-token"],
      ["swarm", "update"],
      ["node"],
      ["node", "ls"],
      ["node", "inspect"],
      ["node", "ps"],
      ["node", "update"],
      ["node", "promote"],
      ["node", "demote"],
      ["node", "rm"],
      ["service"],
      ["service", "create"],
      ["service", "ls"],
      ["service", "ps"],
      ["service", "inspect"],
      ["service", "scale"],
      ["service", "update"],
      ["service", "rollback"],
      ["service", "rm"],
      ["login"],
      ["logout"],
      ["context"],
      ["context", "ls"],
      ["context", "use"],
      ["context", "rm"],
      ["context", "show"],
    ];
    const runs = await Promise.all(commands.map((cmd) => runShoal([...cmd, "--help"], {})));
    runs.forEach((r, i) => {
      expect({ cmd: commands[i], code: r.code }).toEqual({ cmd: commands[i], code: 0 });
      expect(r.stdout).toMatch(new RegExp(`^Usage: ${["shoal", ...commands[i]!].join(" ")} `));
    });
    expect(runs[14]!.stdout).toContain("Usage: shoal service create [OPTIONS] IMAGE [COMMAND] [ARG...]");
  });

  it("unknown commands, unknown options and missing arguments exit 2 with the command's help hint", async () => {
    const [unknown, option, missing, noSub] = await Promise.all([
      c.shoal("service", "frobnicate"),
      c.shoal("node", "ls", "--colour"),
      c.shoal("service", "inspect"),
      c.shoal("service"),
    ]);
    expect(unknown).toMatchObject({ code: 2, stderr: "error: unknown command 'frobnicate'\nSee 'shoal service --help'.\n" });
    expect(option).toMatchObject({ code: 2, stderr: "error: unknown option '--colour'\nSee 'shoal node ls --help'.\n" });
    expect(missing).toMatchObject({ code: 2, stderr: "error: missing required argument 'service'\nSee 'shoal service inspect --help'.\n" });
    expect(noSub.code).toBe(2);
    expect(noSub.stderr).toContain("Usage: shoal service");
  });

  it("the real bin (npx shoal) prints what run() prints: --help, --version, a usage error (exit 2), stdin and a command on the API", async () => {
    const config = join(memoryDir("shoal-cli-bin-"), "config.json");
    const [help, version, usage, login, info] = await Promise.all([
      runBin(["--help"], {}),
      runBin(["--version"], {}),
      runBin(["node", "ls", "--colour"], { SHOAL_CONFIG: c.configPath }),
      runBin(["login", c.server.url, "--token-stdin"], { SHOAL_CONFIG: config }, `${c.adminToken()}\n`),
      runBin(["swarm", "info", "--format", "{{.ID}} {{.Status.NodeCount}}"], { SHOAL_CONFIG: c.configPath }),
    ]);
    expect(help).toEqual(await runShoal(["--help"], {}));
    expect(help.stdout).toMatch(/^Usage: shoal \[OPTIONS\] COMMAND\n/);
    expect(version).toEqual({ code: 0, stdout: "0.1.0\n", stderr: "" });
    expect(usage).toEqual({ code: 2, stdout: "", stderr: "error: unknown option '--colour'\nSee 'shoal node ls --help'.\n" });
    expect(login).toEqual({ code: 0, stdout: `Login Succeeded (context default, ${config})\n`, stderr: "" });
    expect(JSON.parse(readFileSync(config, "utf8")).contexts.default).toEqual({ url: c.server.url, token: c.adminToken() });
    expect(info).toEqual(await runShoal(["swarm", "info", "--format", "{{.ID}} {{.Status.NodeCount}}"], { SHOAL_CONFIG: c.configPath }));
    expect(info.stdout).toMatch(/^clu_\w+ \d+\n$/);
  });
});
