import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateJwtSecret, importClusterKeys } from "../../src/auth/keys.js";
import { rootAdminToken } from "../../src/bootstrap.js";
import { runShoal } from "../cli/harness.js";
import { startNodeServer, tempDir, type Started } from "../helpers/processes.js";
import { apiClient, shoalContainers, waitFor } from "./cluster.js";
import { buildTestImage, ensureDockerInstalled, startCluster, TEST_IMAGE, type E2ECluster, type E2EHost } from "./hosts.js";

/**
 * `shoal machine` from the operator's side, as a user runs it: the real CLI binary
 * reaching three namespaced hosts over SSH (a real sshd in each host's network
 * namespace, on port 22 of its address, with a test key), each with a real dockerd.
 * The hosts share this machine's filesystem, so each one's SSH sessions name their
 * own install root (SHOAL_AGENT_PREFIX, install.sh --prefix), machine id and Docker
 * socket (DOCKER_HOST) in the environment sshd gives them. Host 3 has no docker
 * command on its PATH: `machine create` installs Docker there with apt-get, which is
 * a stand-in on that host, because the test hosts can't reach Debian's mirrors
 * (it puts the docker CLI on the PATH, as installing docker.io would).
 */
describe("shoal machine on SSH hosts", () => {
  let cluster: E2ECluster;
  let hosts: E2EHost[];
  let a: Started;
  let b: Started | undefined;
  let aUrl: string;
  let adminA: string;
  let api: ReturnType<typeof apiClient>;
  let work: string;
  let key: string;
  let configPath: string;
  let hostsFile: string;
  let aptLog: string;

  const root = (h: E2EHost) => join(cluster.dir, h.name, "root");
  const shoal = (args: string[], target: { url: string; token: string } = { url: aUrl, token: adminA }) =>
    runShoal(args, { SHOAL_URL: target.url, SHOAL_TOKEN: target.token, SHOAL_CONFIG: configPath });
  const create = (args: string[], target?: { url: string; token: string }) => shoal(["machine", "create", "--ssh-key", key, "--insecure", ...args], target);
  /** The agent's processes on a host, by the install root in their command lines. */
  const agentProcesses = (h: E2EHost) =>
    readdirSync("/proc")
      .filter((p) => /^\d+$/.test(p))
      .flatMap((pid) => {
        try {
          if (/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, "utf8"))) return [];
          return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(`${root(h)}/opt/shoal-agent/`) ? [Number(pid)] : [];
        } catch {
          return [];
        }
      });
  const installedFiles = (h: E2EHost) =>
    ["opt/shoal-agent", "etc/shoal-agent", "var/lib/shoal-agent/credential.json", "usr/local/bin/shoal-agent", "run/shoal-agent.pid"].map((f) => join(root(h), f));
  const nodes = async () => (await api("GET", "/v1/nodes")).body as any[];

  /** A PATH like this run's, but without the docker command; apt-get first, a stand-in that "installs" it. */
  function pathWithoutDocker(): string {
    const shadow = join(work, "nodocker-bin");
    const apt = join(work, "apt-bin");
    mkdirSync(shadow, { recursive: true });
    mkdirSync(apt, { recursive: true });
    const dirs = (process.env.PATH ?? "").split(delimiter).filter(Boolean);
    const docker = execFileSync("sh", ["-c", "command -v docker"], { encoding: "utf8" }).trim();
    const kept = dirs.filter((dir) => {
      if (!existsSync(join(dir, "docker"))) return true;
      for (const entry of readdirSync(dir))
        if (entry !== "docker" && !existsSync(join(shadow, entry))) symlinkSync(join(dir, entry), join(shadow, entry));
      return false;
    });
    writeFileSync(
      join(apt, "apt-get"),
      [
        "#!/bin/sh",
        `echo "apt-get $*" >> ${aptLog}`,
        'case "$*" in',
        '  update) echo "Reading package lists... Done" ;;',
        `  *"install -y docker.io"*) ln -sf ${docker} ${shadow}/docker; echo "Setting up docker.io ..." ;;`,
        '  *) echo "E: unexpected apt-get $*" >&2; exit 100 ;;',
        "esac",
        "",
      ].join("\n"),
    );
    chmodSync(join(apt, "apt-get"), 0o755);
    return [apt, shadow, ...kept].join(delimiter);
  }

  const startSshd = (h: E2EHost, path = process.env.PATH!) =>
    h.startSshd({
      authorizedKey: readFileSync(`${key}.pub`, "utf8"),
      env: { PATH: path, DOCKER_HOST: h.dockerHost, SHOAL_AGENT_PREFIX: root(h), SHOAL_MACHINE_ID: `e2e-machine-${h.name}` },
    });

  beforeAll(async () => {
    await ensureDockerInstalled();
    cluster = await startCluster({ hosts: 3, prefix: "mach" });
    hosts = [...cluster.hosts];
    await buildTestImage(cluster);
    work = join(cluster.dir, "operator");
    mkdirSync(work, { recursive: true });
    key = join(work, "id_ed25519");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "shoal-e2e", "-f", key]);
    configPath = join(work, "config", "config.json");
    aptLog = join(work, "apt.log");
    await Promise.all([startSshd(hosts[0]!), startSshd(hosts[1]!), startSshd(hosts[2]!, pathWithoutDocker())]);
    const jwtKey = generateJwtSecret();
    // On every address: the hosts reach it on the bridge, and 127.0.0.1 is an address they can't reach.
    a = await startNodeServer({ stateDir: tempDir("shoal-e2e-mach-"), jwtKey, host: "0.0.0.0" });
    aUrl = a.url.replace("0.0.0.0", cluster.controlPlaneIp);
    adminA = await rootAdminToken(await importClusterKeys(jwtKey));
    api = apiClient(() => aUrl, adminA);
    hostsFile = join(work, "hosts");
    writeFileSync(hostsFile, `# the e2e hosts\n${hosts.map((h, i) => `h${i + 1} ${h.ip}`).join("\n")}\n`);
  }, 300_000);
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await cluster?.stop();
  }, 120_000);

  it("machine create --hosts-file makes all three ready nodes in parallel, with their labels; Docker is installed where missing", async () => {
    const r = await create(["--hosts-file", hostsFile, "--label", "zone=e2e", "--label", "tier=web"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const lines = r.stdout.split("\n");
    // In parallel: every machine was being worked on before the first one was ready.
    const firstReady = lines.findIndex((l) => / ready: node /.test(l));
    for (const name of ["h1", "h2", "h3"]) expect(lines.findIndex((l) => l.startsWith(`${name}: connecting to root@`))).toBeLessThan(firstReady);
    expect(lines).toContain(`h1: host key trusted on first use, recorded in ${join(work, "config", "known_hosts")} `);
    expect(lines).toContain("h3: installing Docker with apt-get ");
    expect(lines.some((l) => l.startsWith("h1: installing Docker"))).toBe(false);
    expect(lines).toContain("3 machines: 3 created, 0 already nodes, 0 failed");
    expect(readFileSync(aptLog, "utf8")).toBe("apt-get update\napt-get install -y docker.io\n");

    const all = await nodes();
    expect(all.map((n) => [n.description.hostname, n.status.state, n.status.addr, n.spec.labels]).sort()).toEqual(
      hosts.map((h) => [h.name, "ready", h.ip, { tier: "web", zone: "e2e" }]),
    );
    for (const [i, h] of hosts.entries()) {
      const node = all.find((n) => n.description.hostname === h.name);
      expect(lines).toContain(`h${i + 1}: ready: node ${node.id} (${h.name}) `);
    }
    // The records: address, user and the key's path; never a key. Mode 0600.
    expect(statSync(configPath).mode & 0o777).toBe(0o600);
    const config = readFileSync(configPath, "utf8");
    expect(config).not.toMatch(/PRIVATE KEY/);
    expect(JSON.parse(config).machines.h2).toMatchObject({ driver: "generic", address: hosts[1]!.ip, port: 22, user: "root", keyPath: key, url: aUrl });
    expect(readFileSync(join(work, "config", "known_hosts"), "utf8").trim().split("\n")).toHaveLength(3);
  });

  it("a service runs on the machines; machine ssh h2 -- docker ps shows its task containers", async () => {
    expect((await api("POST", "/v1/services", { name: "web", replicas: 6, task: { container: { image: TEST_IMAGE, command: ["sleep", "3600"] } } })).status).toBe(201);
    await waitFor("6 running tasks", async () => {
      const tasks = (await api("GET", "/v1/tasks?service=web&desired-state=running")).body as any[];
      return tasks.length === 6 && tasks.every((t) => t.status.state === "running");
    });
    const h2 = (await nodes()).find((n) => n.description.hostname === hosts[1]!.name);
    const onH2 = ((await api("GET", `/v1/tasks?service=web&node=${h2.id}`)).body as any[]).map((t) => t.id).sort();
    expect(onH2.length).toBeGreaterThan(0);
    const r = await shoal(["machine", "ssh", "h2", "--", "docker", "ps", "--format", "'{{.Names}}'"]);
    expect(r.code, r.stderr).toBe(0);
    const names = r.stdout.trim().split("\n").filter((n) => n.startsWith("web."));
    expect(names.map((n) => n.split(".")[2]).sort()).toEqual(onH2);
    const status = await shoal(["machine", "ssh", "h2", "--", "exit", "3"]);
    expect(status.code).toBe(3);
  });

  it("machine ls: each machine running, its Docker version and its node's status", async () => {
    const r = await shoal(["machine", "ls"]);
    expect(r.code, r.stderr).toBe(0);
    const version = (await hosts[0]!.docker(["version", "--format", "{{.Server.Version}}"])).trim();
    const rows = r.stdout.trim().split("\n");
    expect(rows[0]).toMatch(/^NAME +DRIVER +URL +STATE +DOCKER +NODE STATUS$/);
    expect(rows.slice(1).map((l) => l.split(/ {2,}/))).toEqual(hosts.map((h, i) => [`h${i + 1}`, "generic", `ssh://root@${h.ip}:22`, "Running", version, "Ready"]));
  });

  it("machine upgrade h1: its agent is the control plane's already, so nothing restarts; inspect shows the record", async () => {
    const pids = agentProcesses(hosts[0]!).sort();
    const r = await shoal(["machine", "upgrade", "--insecure", "h1"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toBe("h1: up to date and running (node runtime, supervisor)\n");
    expect(agentProcesses(hosts[0]!).sort()).toEqual(pids);
    const inspect = await shoal(["machine", "inspect", "h1"]);
    expect(inspect.code, inspect.stderr).toBe(0);
    const node = (await nodes()).find((n) => n.description.hostname === hosts[0]!.name);
    expect(JSON.parse(inspect.stdout)).toEqual([
      expect.objectContaining({ Name: "h1", driver: "generic", address: hosts[0]!.ip, port: 22, user: "root", keyPath: key, nodeId: node.id, knownHostsFile: join(work, "config", "known_hosts") }),
    ]);
  });

  it("a second machine create for h1 changes nothing, and says so", async () => {
    const before = { pids: agentProcesses(hosts[0]!).sort(), mtimes: installedFiles(hosts[0]!).slice(0, 4).map((f) => statSync(f).mtimeMs), nodes: await nodes() };
    const r = await create(["--ip", hosts[0]!.ip, "h1"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const node = before.nodes.find((n) => n.description.hostname === hosts[0]!.name);
    expect(r.stdout).toContain(`h1: already a node (${node.id}, ${hosts[0]!.name}); nothing changed`);
    expect(r.stdout).toContain("1 machine: 0 created, 1 already nodes, 0 failed");
    expect(agentProcesses(hosts[0]!).sort()).toEqual(before.pids);
    expect(installedFiles(hosts[0]!).slice(0, 4).map((f) => statSync(f).mtimeMs)).toEqual(before.mtimes);
    expect((await nodes()).map((n) => [n.id, n.version])).toEqual(before.nodes.map((n) => [n.id, n.version]));
  });

  it("machine rm h2 moves its tasks and leaves no agent, unit or credential behind", async () => {
    const h2 = hosts[1]!;
    const h2Node = (await nodes()).find((n) => n.description.hostname === h2.name);
    const r = await shoal(["machine", "rm", "h2"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`h2: draining node ${h2Node.id}`);
    expect(r.stdout).toContain("h2: agent uninstalled");
    expect(r.stdout.trim().split("\n").at(-1)).toBe("h2");
    const tasks = (await api("GET", "/v1/tasks?service=web&desired-state=running")).body as any[];
    expect(tasks).toHaveLength(6);
    expect(tasks.every((t) => t.status.state === "running" && t.nodeId !== h2Node.id)).toBe(true);
    expect((await shoalContainers(h2)).filter((c) => c.state === "running")).toEqual([]);
    expect((await nodes()).map((n) => n.description.hostname).sort()).toEqual([hosts[0]!.name, hosts[2]!.name]);
    await waitFor("the agent's processes gone", async () => agentProcesses(h2).length === 0, 30_000);
    for (const f of installedFiles(h2)) expect(existsSync(f), f).toBe(false);
    expect(JSON.parse(readFileSync(configPath, "utf8")).machines.h2).toBeUndefined();
    expect((await shoal(["machine", "ls", "-q"])).stdout).toBe("h1\nh3\n");
  });

  it("errors: a missing key file, a control plane the host can't reach, a stopped sshd", async () => {
    const missing = join(work, "no-such-key");
    const noKey = await shoal(["machine", "create", "--ssh-key", missing, "--ip", hosts[1]!.ip, "h2"]);
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toContain(`Error: the SSH key ${missing} does not exist: make one with ssh-keygen -t ed25519 -f ${missing}`);

    const local = await create(["--ip", hosts[1]!.ip, "h2"], { url: a.url.replace("0.0.0.0", "127.0.0.1"), token: adminA });
    expect(local.code).toBe(1);
    expect(local.stdout).toMatch(/^h2: failed: the host cannot reach the control plane at http:\/\/127\.0\.0\.1:\d+ \(.+\): .*--public-url/m);
    expect(local.stdout).toContain("1 machine: 0 created, 0 already nodes, 1 failed");

    await hosts[1]!.stopSshd();
    const stopped = await create(["--ip", hosts[1]!.ip, "h2"]);
    expect(stopped.code).toBe(1);
    expect(stopped.stdout).toContain(`h2: failed: cannot reach ${hosts[1]!.ip}:22 over SSH (ssh: connect to host ${hosts[1]!.ip} port 22: Connection refused): check`);
    expect(JSON.parse(readFileSync(configPath, "utf8")).machines.h2).toBeUndefined();
    await startSshd(hosts[1]!);
  });

  it("a host already a node of another cluster is refused until shoal-agent leave; then it joins", async () => {
    const jwtKey = generateJwtSecret();
    b = await startNodeServer({ stateDir: tempDir("shoal-e2e-machb-"), jwtKey, host: cluster.controlPlaneIp });
    const adminB = await rootAdminToken(await importClusterKeys(jwtKey));
    const apiB = apiClient(() => b!.url, adminB);
    const inB = await create(["--ip", hosts[1]!.ip, "h2"], { url: b.url, token: adminB });
    expect(inB.code, inB.stdout + inB.stderr).toBe(0);
    const nodeB = ((await apiB("GET", "/v1/nodes")).body as any[])[0];

    const refused = await create(["--ip", hosts[1]!.ip, "h2"]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain(`h2: failed: the host is already a node of the cluster at ${b.url} (node ${nodeB.id}): run shoal-agent leave -f on the host first`);
    expect((await nodes()).map((n) => n.description.hostname)).not.toContain(hosts[1]!.name);

    const left = await shoal(["machine", "ssh", "h2", "--", `${root(hosts[1]!)}/usr/local/bin/shoal-agent`, "leave"]);
    expect(left.code, left.stderr).toBe(0);
    expect(left.stdout).toBe(`Node ${nodeB.id} left the cluster at ${b.url}.\n`);
    expect((await apiB("GET", "/v1/nodes")).body).toEqual([]);
    // The agent stops for good (its supervisor too): it must not join again with the old token.
    await waitFor("h2's agent stopped", async () => agentProcesses(hosts[1]!).length === 0, 30_000);

    const joined = await create(["--ip", hosts[1]!.ip, "--label", "zone=e2e", "h2"]);
    expect(joined.code, joined.stdout + joined.stderr).toBe(0);
    expect(joined.stdout).toContain("1 machine: 1 created, 0 already nodes, 0 failed");
    expect((await nodes()).find((n) => n.description.hostname === hosts[1]!.name)).toMatchObject({ status: { state: "ready" }, spec: { labels: { zone: "e2e" } } });
    expect((await apiB("GET", "/v1/nodes")).body).toEqual([]);
  });
});
