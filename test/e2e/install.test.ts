import { execFileSync, spawn } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateJwtSecret, importClusterKeys } from "../../src/auth/keys.js";
import { rootAdminToken } from "../../src/bootstrap.js";
import { freePort, startNodeServer, tempDir, type Started } from "../helpers/processes.js";
import { apiClient, shoalContainers, waitFor } from "./cluster.js";
import { buildTestImage, ensureDockerInstalled, startCluster, TEST_IMAGE, type E2ECluster, type E2EHost } from "./hosts.js";

/**
 * The one-liner on a namespaced host with a real dockerd, as a user runs it:
 * `curl -fsSL URL/install.sh | sh -s -- …` inside the host's network namespace,
 * against a control plane on the bridge. The host has no systemd, so the agent runs
 * under the installer's supervisor, on this machine's Node (the native path). The
 * namespaces share this machine's filesystem: --prefix keeps the install in the
 * cluster's directory (which the harness cleans up, processes included).
 */
/**
 * A "node" image for the container runtime, made from this machine's Node binary and
 * the libraries it links (no registry is reachable to pull node:20-alpine).
 */
async function importNodeImage(host: E2EHost, work: string): Promise<string> {
  const image = "shoal-test/node:20";
  const libs = execFileSync("ldd", [process.execPath], { encoding: "utf8" })
    .split("\n")
    .map((l) => /(\/\S+) \(0x/.exec(l)?.[1])
    .filter((p): p is string => Boolean(p));
  const rootfs = join(work, "rootfs");
  for (const file of [process.execPath, ...libs]) {
    mkdirSync(join(rootfs, dirname(file)), { recursive: true });
    copyFileSync(file, join(rootfs, file));
  }
  chmodSync(join(rootfs, process.execPath), 0o755);
  mkdirSync(join(rootfs, "tmp"), { recursive: true });
  mkdirSync(join(rootfs, "etc"), { recursive: true });
  writeFileSync(join(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  execFileSync("tar", ["-C", rootfs, "-cf", join(work, "rootfs.tar"), "."]);
  await host.docker(["import", "--change", `ENV PATH=${dirname(process.execPath)}`, join(work, "rootfs.tar"), image], { timeoutMs: 300_000 });
  rmSync(work, { recursive: true, force: true });
  return image;
}

describe("install.sh on a Docker host", () => {
  let cluster: E2ECluster;
  let host: E2EHost;
  let controlPlane: Started;
  let api: ReturnType<typeof apiClient>;
  let joinToken: string;
  let root: string;
  let tamperer: Server | undefined;

  /** `curl … | sh -s -- ARGS` in the host's namespace; the join token goes by environment. */
  const install = (args: string[], opts: { url?: string } = {}): Promise<{ code: number | null; output: string }> =>
    new Promise((resolve, reject) => {
      const pipeline = 'url=$1; shift; curl -fsSL "$url/install.sh" | sh -s -- "$@"';
      const child = spawn(
        "nsenter",
        [`--net=/var/run/netns/${host.netns}`, "sh", "-c", pipeline, "sh", opts.url ?? controlPlane.url, ...args],
        { env: { PATH: process.env.PATH!, SHOAL_JOIN_TOKEN: joinToken }, stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 },
      );
      let output = "";
      child.stdout.on("data", (d) => (output += d));
      child.stderr.on("data", (d) => (output += d));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, output }));
    });
  const options = () => ["--prefix", root, "--docker-socket", host.dockerSocket, "--insecure"];

  /**
   * The supervisor and agent processes of the install, by their command lines. A
   * moment's fork of the supervisor's shell (same command line, its child) is not one.
   */
  const installed = () => {
    const procs = readdirSync("/proc")
      .filter((p) => /^\d+$/.test(p))
      .flatMap((pid) => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
          if (/\) [ZX] /.test(stat)) return [];
          const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
          const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
          return cmdline.includes(`${root}/opt/shoal-agent/`) ? [{ pid: Number(pid), ppid, cmdline }] : [];
        } catch {
          return [];
        }
      });
    const cmdlineOf = new Map(procs.map((p) => [p.pid, p.cmdline]));
    return procs.filter((p) => cmdlineOf.get(p.ppid) !== p.cmdline).map(({ pid, cmdline }) => ({ pid, cmdline }));
  };
  const files = () => ["opt/shoal-agent/shoal-agent.mjs", "opt/shoal-agent/supervise", "etc/shoal-agent/agent.env"].map((f) => join(root, f));

  beforeAll(async () => {
    await ensureDockerInstalled();
    cluster = await startCluster({ hosts: 1, prefix: "inst" });
    host = cluster.hosts[0]!;
    await buildTestImage(cluster);
    const jwtKey = generateJwtSecret();
    controlPlane = await startNodeServer({ stateDir: tempDir("shoal-e2e-inst-"), jwtKey, host: cluster.controlPlaneIp });
    api = apiClient(() => controlPlane.url, await rootAdminToken(await importClusterKeys(jwtKey)));
    joinToken = (await api("GET", "/v1/swarm/join-tokens")).body.worker;
    root = join(cluster.dir, "root");
  }, 240_000);
  afterAll(async () => {
    await new Promise((r) => (tamperer ? tamperer.close(r) : r(undefined)));
    await controlPlane?.stop();
    await cluster?.stop();
  }, 120_000);

  it("installs and starts an agent that joins and runs a task", async () => {
    const res = await install(options());
    expect(res.code, res.output).toBe(0);
    expect(res.output).toMatch(/installed and started \(node runtime, supervisor/);
    expect(res.output).not.toContain(joinToken);
    expect(statSync(join(root, "etc/shoal-agent/agent.env")).mode & 0o777).toBe(0o600);
    const node = await waitFor("the node ready", async () => {
      const nodes = (await api("GET", "/v1/nodes")).body as any[];
      return nodes.length === 1 && nodes[0].status.state === "ready" ? nodes[0] : undefined;
    });
    expect(node.description.hostname).toBe(host.name);
    expect(node.status.addr).toBe(host.ip);
    expect((await api("POST", "/v1/services", { name: "web", task: { container: { image: TEST_IMAGE, command: ["sleep", "3600"] } } })).status).toBe(201);
    const [container] = await waitFor("a running container on the host", async () => {
      const list = await shoalContainers(host);
      return list.length === 1 && list[0]!.state === "running" ? list : undefined;
    });
    expect(container!.name).toMatch(/^web\.1\./);
    expect(installed().map((p) => p.cmdline)).toEqual(
      expect.arrayContaining([expect.stringContaining("opt/shoal-agent/supervise"), expect.stringContaining("opt/shoal-agent/shoal-agent.mjs run")]),
    );
  });

  it("running it again changes nothing: same files, same processes", async () => {
    const before = { procs: installed().map((p) => p.pid).sort(), mtimes: files().map((f) => statSync(f).mtimeMs) };
    const res = await install(options());
    expect(res.code, res.output).toBe(0);
    expect(res.output).toMatch(/up to date and running/);
    expect(installed().map((p) => p.pid).sort()).toEqual(before.procs);
    expect(files().map((f) => statSync(f).mtimeMs)).toEqual(before.mtimes);
    expect((await api("GET", "/v1/nodes")).body).toHaveLength(1);
  });

  it("a changed setting upgrades in place: the agent restarts, keeps its node and adopts its task", async () => {
    const before = { procs: installed().map((p) => p.pid).sort(), containers: await shoalContainers(host) };
    const res = await install([...options(), "--addr", host.ip]);
    expect(res.code, res.output).toBe(0);
    expect(res.output).toMatch(/upgraded and restarted/);
    expect(readFileSync(join(root, "etc/shoal-agent/agent.env"), "utf8")).toContain(`\nSHOAL_AGENT_ADDR=${host.ip}\n`);
    const after = installed().map((p) => p.pid);
    expect(after.filter((pid) => before.procs.includes(pid))).toEqual([]);
    await waitFor("the agent back, on the same node", async () => {
      const nodes = (await api("GET", "/v1/nodes")).body as any[];
      return nodes.length === 1 && nodes[0].status.state === "ready" && installed().length === 2;
    });
    expect(await shoalContainers(host)).toEqual(before.containers);
  });

  it("refuses a tampered bundle and leaves the running install alone", async () => {
    const original = await (await fetch(`${controlPlane.url}/v1/agent/bundle`)).text();
    const port = await freePort();
    tamperer = createServer((req, res) => {
      if (req.url === "/install.sh") void fetch(`${controlPlane.url}/install.sh`).then(async (r) => res.end(await r.text()));
      else if (req.url === "/v1/agent/bundle") res.end(`${original}\nprocess.exit(0);\n`);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => tamperer!.listen(port, cluster.controlPlaneIp, () => r()));
    const before = { procs: installed().map((p) => p.pid).sort(), mtimes: files().map((f) => statSync(f).mtimeMs) };
    const res = await install([...options(), "--url", `http://${cluster.controlPlaneIp}:${port}`], { url: `http://${cluster.controlPlaneIp}:${port}` });
    expect(res.code).toBe(1);
    expect(res.output).toMatch(/SHA-256 is [0-9a-f]{64}, not [0-9a-f]{64}: refusing to install it/);
    expect(installed().map((p) => p.pid).sort()).toEqual(before.procs);
    expect(files().map((f) => statSync(f).mtimeMs)).toEqual(before.mtimes);
    expect(readFileSync(join(root, "opt/shoal-agent/shoal-agent.mjs"), "utf8")).toBe(original);
  });

  it("--uninstall stops the agent and removes everything it installed", async () => {
    const res = await install([...options(), "--uninstall"]);
    expect(res.code, res.output).toBe(0);
    expect(res.output).toMatch(/removed/);
    await waitFor("the agent and its supervisor gone", async () => installed().length === 0, 30_000);
    for (const path of ["opt/shoal-agent", "etc/shoal-agent", "var/lib/shoal-agent", "var/log/shoal-agent.log", "run/shoal-agent.pid"])
      expect(existsSync(join(root, path)), path).toBe(false);
    // The task's container is the cluster's, not the installer's: it keeps running until the node is removed.
    expect((await shoalContainers(host)).map((c) => c.state)).toEqual(["running"]);
    await waitFor("the node down once its agent is gone", async () => ((await api("GET", "/v1/nodes")).body as any[])[0]?.status.state === "down", 30_000);
  });

  it("--runtime container: the agent runs in a Node image with the Docker socket mounted; uninstall removes that container", async () => {
    const image = await importNodeImage(host, join(cluster.dir, "node-image"));
    const res = await install([...options(), "--runtime", "container", "--image", image]);
    expect(res.code, res.output).toBe(0);
    expect(res.output).toMatch(/installed and started \(container runtime, supervisor/);
    const agentContainer = async () => (await host.docker(["ps", "-a", "--filter", "name=^shoal-agent$", "--format", "{{.Image}} {{.State}}"])).trim();
    await waitFor("the agent's container running", async () => (await agentContainer()) === `${image} running`);
    // Same machine, so the same node; it was down meanwhile, so its task was replaced: the new agent runs that.
    await waitFor("the node ready again", async () => {
      const nodes = (await api("GET", "/v1/nodes")).body as any[];
      return nodes.length === 1 && nodes[0].status.state === "ready";
    });
    await waitFor("the service's task running", async () => {
      const tasks = (await api("GET", "/v1/tasks?service=web&desired-state=running")).body as any[];
      return tasks.length === 1 && tasks[0].status.state === "running";
    });
    // And stops the replaced task's container, which the uninstall had left running.
    await waitFor("one running task container", async () => (await shoalContainers(host)).filter((x) => x.state === "running").length === 1, 30_000);
    const removed = await install([...options(), "--uninstall"]);
    expect(removed.code, removed.output).toBe(0);
    await waitFor("the agent's container gone", async () => (await agentContainer()) === "", 30_000);
    await waitFor("the supervisor gone", async () => installed().length === 0, 30_000);
  });
});
