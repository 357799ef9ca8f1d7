/**
 * Several Docker hosts on this one machine, for end-to-end tests and benchmarks.
 *
 * Each host is a network namespace on a Linux bridge with its own dockerd (and the
 * containerd that dockerd manages). The control plane and the agents run in the root
 * namespace: an agent talks to its host's engine over `host.dockerSocket` and
 * advertises `host.ip`; the control plane is reachable from every host (and its
 * containers) at `cluster.controlPlaneIp`, so it must listen there or on 0.0.0.0.
 *
 * Killing a host = `host.killEngine()` + killing its agent. A partition =
 * `host.linkDown()`: it cuts the host's network (its containers, its published ports),
 * but NOT its agent, which sits in the root namespace and reaches the engine by unix
 * socket; stop the agent too if the test needs it cut off from the control plane.
 *
 * A host can also run sshd (`host.startSshd()`), in its namespace on its address, port 22,
 * with its own config, host key and authorized_keys; its sessions run in the host's
 * namespace, with the environment given (the filesystem is still this machine's).
 *
 * Everything lives under /run/shoal-e2e/<prefix>/ and in links and namespaces named
 * <prefix>-…, so a later run with the same prefix removes what a crashed one left.
 * Test files that run in parallel must use distinct prefixes.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { accessSync, chmodSync, closeSync, constants, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { delimiter, join } from "node:path";

export const TEST_IMAGE_REPO = "shoal-test/busybox";
export const TEST_IMAGE = `${TEST_IMAGE_REPO}:1`;

const BASE_DIR = "/run/shoal-e2e";
const BUSYBOX = "/bin/busybox";
/** Held while apt-get installs what the e2e tests need: parallel test files may all find it missing. */
export const INSTALL_LOCK = "/run/shoal-e2e.install.lock";
const REQUIRED_COMMANDS = ["dockerd", "containerd", "docker", "ip", "bridge", "iptables", "nft", "conntrack", "nsenter", "unshare", "flock", "tar", "sshd", "ssh", "ssh-keygen", "docker-registry", "htpasswd", "wireguard-go", "wg", "tcpdump"];

export interface E2EHost {
  /** Host name: also the engine's hostname (`docker info` Name), its netns and its root-side veth. */
  readonly name: string;
  /** 1-based position in the cluster. */
  readonly index: number;
  /** Address on the cluster bridge, without the prefix length. */
  readonly ip: string;
  readonly netns: string;
  /** Unix socket of the host's dockerd, reachable from the root namespace. */
  readonly dockerSocket: string;
  /** `unix://` + dockerSocket, for DOCKER_HOST. */
  readonly dockerHost: string;
  /** The engine's docker0 address (`--bip`), distinct per host. */
  readonly bip: string;
  /** dockerd's (and its containerd's) output. */
  readonly logFile: string;
  readonly engineRunning: boolean;
  /** SIGKILL the engine and everything under it: dockerd, containerd, shims and containers, like a power cut. */
  killEngine(): Promise<void>;
  /** Start dockerd again on the same data; resolves once it answers /_ping. No-op if running. */
  startEngine(): Promise<void>;
  linkDown(): Promise<void>;
  linkUp(): Promise<void>;
  /** Runs the docker CLI against this host's engine; resolves to stdout, rejects with stderr. */
  docker(args: string[], opts?: { input?: string | Buffer; timeoutMs?: number; env?: Record<string, string> }): Promise<string>;
  /**
   * Starts sshd on `ip`:22 in the host's namespaces, letting in `authorizedKey` (a public key line)
   * as root; its sessions get `env` (PATH included) set by sshd. Resolves once it accepts connections.
   */
  startSshd(opts: { authorizedKey: string; env: Record<string, string> }): Promise<void>;
  /** Stops the listening sshd (sessions already open and what they started keep running). */
  stopSshd(): Promise<void>;
}

export interface E2ECluster {
  readonly prefix: string;
  readonly hosts: readonly E2EHost[];
  /** The bridge's own address: where the root namespace (the control plane) is reachable from the hosts. */
  readonly controlPlaneIp: string;
  /** e.g. 10.77.42.0/24 */
  readonly subnet: string;
  readonly bridge: string;
  readonly dir: string;
  /** Wall time startCluster took, network and engines up. */
  readonly startupMs: number;
  /** Kills every process it started, removes namespaces, links and files. Idempotent. */
  stop(): Promise<void>;
}

// ---------------------------------------------------------------- installation

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function missingTools(): string[] {
  const missing = REQUIRED_COMMANDS.filter((c) => !onPath(c));
  try {
    accessSync(BUSYBOX, constants.X_OK);
  } catch {
    missing.push(BUSYBOX);
  }
  return missing;
}

/**
 * Installs Docker and busybox-static from Debian when missing (and the
 * distribution registry with htpasswd, for test/e2e/registry.ts). Never skips: a machine
 * that cannot get them fails the suite (loudly, as CI must).
 */
export async function ensureDockerInstalled(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("the e2e hosts need root (network namespaces, dockerd)");
  if (missingTools().length === 0) return;
  const apt = "apt-get -o DPkg::Lock::Timeout=600";
  // Under flock, and checking again: parallel test files may all find Docker missing, one installs it.
  const script = `for c in "$@"; do command -v "$c" >/dev/null || { ${apt} update && ${apt} install -y docker.io busybox-static iproute2 iptables nftables conntrack openssh-server docker-registry apache2-utils && ${apt} install -y --no-install-recommends wireguard-go wireguard-tools tcpdump; exit; }; done`;
  try {
    await run("flock", [INSTALL_LOCK, "sh", "-ec", script, "sh", ...REQUIRED_COMMANDS, BUSYBOX], {
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      timeoutMs: 900_000,
    });
  } catch (err) {
    throw new Error(`installing Docker for the e2e tests failed${process.env.CI === "true" ? " (CI)" : ""}: ${(err as Error).message}`);
  }
  const missing = missingTools();
  if (missing.length) throw new Error(`still missing after apt-get install: ${missing.join(", ")}`);
}

// ---------------------------------------------------------------- cluster

const PREFIX_RE = /^[a-z][a-z0-9]{0,9}$/; // "<prefix>-h<NN>" must fit a 15-character interface name

export async function startCluster(opts: { hosts: number; prefix?: string }): Promise<E2ECluster> {
  const prefix = opts.prefix ?? "shoal";
  if (!PREFIX_RE.test(prefix)) throw new Error(`prefix ${JSON.stringify(prefix)} must match ${PREFIX_RE}`);
  if (!Number.isInteger(opts.hosts) || opts.hosts < 1 || opts.hosts > 99) throw new Error("hosts must be 1…99");
  const started = Date.now();

  cleanupSync(prefix); // whatever a crashed run with this prefix left behind
  const dir = clusterDir(prefix);
  const bridge = `${prefix}-br`;
  const hosts: Host[] = [];
  let net: string;
  registerForExit(prefix);
  try {
    sh("ip", ["link", "add", bridge, "type", "bridge"]);
    sh("ip", ["link", "set", bridge, "up"]);
    net = claimSubnet(prefix, bridge);
    // Traffic between hosts is bridged, and with br_netfilter it passes this namespace's FORWARD
    // chain, whose policy a root-namespace dockerd sets to DROP.
    sh("iptables", ["-w", "-I", ...forwardRule(prefix)]);
    for (let i = 1; i <= opts.hosts; i++) {
      const host = new Host(dir, `${prefix}-h${i}`, i, `${net}.${10 + i}`, `${net}.0/24`);
      host.createNetwork(bridge);
      hosts.push(host);
    }
    await Promise.all(hosts.map((h) => h.startEngine()));
  } catch (err) {
    cleanupSync(prefix);
    unregisterForExit(prefix);
    throw err;
  }

  let stopped = false;
  return {
    prefix,
    hosts,
    controlPlaneIp: `${net}.1`,
    subnet: `${net}.0/24`,
    bridge,
    dir,
    startupMs: Date.now() - started,
    async stop() {
      if (stopped) return;
      stopped = true;
      cleanupSync(prefix);
      unregisterForExit(prefix);
    },
  };
}

const clusterDir = (prefix: string) => join(BASE_DIR, prefix);

/**
 * Gives the bridge a free 10.77.N.0/24, trying first the N the prefix hashes to, and
 * returns "10.77.N". The kernel refuses a second route to the same /24, which makes the
 * claim atomic between test files starting clusters in parallel.
 */
function claimSubnet(prefix: string, bridge: string): string {
  const first = createHash("sha256").update(prefix).digest().readUInt8(0);
  for (let i = 0; i < 256; i++) {
    const net = `10.77.${(first + i) % 256}`;
    const routed = sh("ip", ["-4", "-o", "route", "show", "to", "match", `${net}.1`]).split("\n").some((l) => l && !l.startsWith("default"));
    if (routed) continue; // taken, or inside a wider network of the machine's
    sh("ip", ["addr", "add", `${net}.1/24`, "dev", bridge, "noprefixroute"]);
    if (attempt("ip", ["route", "add", `${net}.0/24`, "dev", bridge, "proto", "kernel", "scope", "link", "src", `${net}.1`])) return net;
    sh("ip", ["addr", "del", `${net}.1/24`, "dev", bridge]);
  }
  throw new Error("no free /24 left in 10.77.0.0/16");
}

const forwardRule = (prefix: string) => ["FORWARD", "-i", `${prefix}-br`, "-o", `${prefix}-br`, "-j", "ACCEPT"];

/**
 * Runs in the host's netns, in new mount and UTS namespaces, then execs dockerd (or sshd):
 * - a resolv.conf pointing at 127.0.0.1, so registry look-ups fail at once instead of leaving the machine;
 * - the host's own hostname, which the engine reports as its Name;
 * - a system containerd's socket hidden, else dockerd would use that shared one instead of managing its own.
 */
const ENGINE_SCRIPT = `
mount --bind "$1" /etc/resolv.conf
echo "$2" > /proc/sys/kernel/hostname
if [ -S /run/containerd/containerd.sock ]; then mount -t tmpfs tmpfs /run/containerd; fi
shift 2
exec "$@"`;

class Host implements E2EHost {
  readonly netns: string;
  readonly dockerSocket: string;
  readonly dockerHost: string;
  readonly bip: string;
  readonly logFile: string;
  private readonly dir: string;
  private engine: ChildProcess | undefined;
  private sshd: ChildProcess | undefined;

  constructor(
    clusterDir: string,
    readonly name: string,
    readonly index: number,
    readonly ip: string,
    subnet: string,
  ) {
    this.netns = name;
    this.dir = join(clusterDir, name);
    this.dockerSocket = join(this.dir, "docker.sock");
    this.dockerHost = `unix://${this.dockerSocket}`;
    this.bip = `172.30.${index}.1/24`;
    this.logFile = join(this.dir, "dockerd.log");
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(join(this.dir, "resolv.conf"), "nameserver 127.0.0.1\n");
    // Not the machine's /etc/docker/daemon.json. The engine ID derives from the key file, by default the
    // shared /etc/docker/key.json: every host would have the same ID. (Config-file only, no such flag.)
    // A test registry on the bridge (test/e2e/registry.ts) speaks plain HTTP: the engines may pull from it.
    writeFileSync(join(this.dir, "daemon.json"), JSON.stringify({ "deprecated-key-path": join(this.dir, "key.json"), "insecure-registries": [subnet] }));
  }

  /** No default route in the namespace: the hosts reach only the bridge subnet. */
  createNetwork(bridge: string): void {
    sh("ip", ["netns", "add", this.netns]);
    sh("ip", ["link", "add", this.name, "type", "veth", "peer", "name", "eth0", "netns", this.netns]);
    sh("ip", ["link", "set", this.name, "master", bridge, "up"]);
    sh("ip", ["-n", this.netns, "addr", "add", `${this.ip}/24`, "dev", "eth0"]);
    sh("ip", ["-n", this.netns, "link", "set", "eth0", "up"]);
    sh("ip", ["-n", this.netns, "link", "set", "lo", "up"]);
  }

  get engineRunning(): boolean {
    return this.engine !== undefined && this.engine.exitCode === null && this.engine.signalCode === null;
  }

  async startEngine(): Promise<void> {
    if (this.engineRunning) return;
    const execRoot = join(this.dir, "exec");
    // Stale pid files would make dockerd refuse to start, or reuse a dead containerd: here PID 1
    // reaps orphans lazily, and a zombie still counts as running for dockerd's check.
    rmSync(join(this.dir, "dockerd.pid"), { force: true });
    rmSync(join(execRoot, "containerd", "containerd.pid"), { force: true });
    const dockerd = [
      "dockerd",
      "--storage-driver=vfs",
      `--data-root=${join(this.dir, "data")}`,
      `--exec-root=${execRoot}`,
      `--pidfile=${join(this.dir, "dockerd.pid")}`,
      `--host=${this.dockerHost}`,
      `--bip=${this.bip}`,
      `--config-file=${join(this.dir, "daemon.json")}`,
    ];
    const log = openSync(this.logFile, "a");
    try {
      this.engine = spawn(
        "nsenter",
        [`--net=/var/run/netns/${this.netns}`, "unshare", "--mount", "--uts", "--propagation", "private", "sh", "-ec", ENGINE_SCRIPT, "sh", join(this.dir, "resolv.conf"), this.name, ...dockerd],
        { detached: true, stdio: ["ignore", log, log] },
      );
    } finally {
      closeSync(log);
    }
    this.engine.unref(); // a script that forgets stop() still exits; the exit handler cleans up
    await this.waitForPing(60_000);
  }

  private async waitForPing(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.engineRunning) throw new Error(`dockerd of ${this.name} exited:\n${this.logTail()}`);
      // dockerd accepts on its socket before it is ready and answers once it is; hence the long per-try timeout.
      if (await ping(this.dockerSocket, 10_000)) return;
      if (Date.now() > deadline) throw new Error(`dockerd of ${this.name} did not answer /_ping in ${timeoutMs} ms:\n${this.logTail()}`);
      await sleep(50);
    }
  }

  private logTail(): string {
    try {
      return readFileSync(this.logFile, "utf8").split("\n").slice(-30).join("\n");
    } catch {
      return "(no log)";
    }
  }

  async killEngine(): Promise<void> {
    killProcessesUnder(this.dir);
    this.engine = undefined;
  }

  async linkDown(): Promise<void> {
    sh("ip", ["link", "set", this.name, "down"]);
  }

  async linkUp(): Promise<void> {
    sh("ip", ["link", "set", this.name, "up"]);
  }

  async startSshd(opts: { authorizedKey: string; env: Record<string, string> }): Promise<void> {
    if (this.sshd && this.sshd.exitCode === null && this.sshd.signalCode === null) return;
    const dir = join(this.dir, "sshd");
    const hostKey = join(dir, "host_ed25519_key");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    mkdirSync("/run/sshd", { recursive: true, mode: 0o755 }); // sshd's privilege separation directory
    if (!existsSync(hostKey)) sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", this.name, "-f", hostKey]);
    writeFileSync(join(dir, "authorized_keys"), `${opts.authorizedKey.trim()}\n`, { mode: 0o600 });
    const config = [
      `ListenAddress ${this.ip}:22`,
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no", // the key files sit in the test's directories, not in ~/.ssh
      `SetEnv ${Object.entries(opts.env).map(([k, v]) => `${k}=${v}`).join(" ")}`,
    ];
    writeFileSync(join(dir, "sshd_config"), `${config.join("\n")}\n`);
    const log = openSync(join(dir, "sshd.log"), "a");
    try {
      this.sshd = spawn(
        "nsenter",
        [`--net=/var/run/netns/${this.netns}`, "unshare", "--mount", "--uts", "--propagation", "private", "sh", "-ec", ENGINE_SCRIPT, "sh", join(this.dir, "resolv.conf"), this.name, "/usr/sbin/sshd", "-D", "-e", "-f", join(dir, "sshd_config")],
        { detached: true, stdio: ["ignore", log, log] },
      );
    } finally {
      closeSync(log);
    }
    this.sshd.unref();
    const deadline = Date.now() + 30_000;
    while (!(await accepts(this.ip, 22))) {
      if (this.sshd.exitCode !== null) throw new Error(`sshd of ${this.name} exited: ${readFileSync(join(dir, "sshd.log"), "utf8")}`);
      if (Date.now() > deadline) throw new Error(`sshd of ${this.name} did not listen in 30 s`);
      await sleep(50);
    }
  }

  async stopSshd(): Promise<void> {
    const sshd = this.sshd;
    if (!sshd || sshd.exitCode !== null || sshd.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      sshd.once("exit", () => resolve());
      sshd.kill("SIGTERM");
    });
    this.sshd = undefined;
  }

  docker(args: string[], opts: { input?: string | Buffer; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<string> {
    const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env, DOCKER_HOST: this.dockerHost };
    delete env.DOCKER_TLS_VERIFY; // the caller's TLS settings would break the unix socket
    delete env.DOCKER_CERT_PATH;
    return run("docker", args, { ...opts, env });
  }
}

// ---------------------------------------------------------------- image

/**
 * A busybox image made from the machine's static busybox (no registry is reachable),
 * imported on the first host and loaded into the others, so the image ID is the same
 * everywhere. Resolves to TEST_IMAGE.
 */
export async function buildTestImage(cluster: E2ECluster): Promise<string> {
  const [first, ...others] = cluster.hosts;
  if (!first) throw new Error("the cluster has no hosts");
  const work = join(cluster.dir, "image");
  const rootfs = join(work, "rootfs");
  rmSync(work, { recursive: true, force: true });
  for (const d of ["bin", "etc", "root", "tmp"]) mkdirSync(join(rootfs, d), { recursive: true });
  chmodSync(join(rootfs, "tmp"), 0o1777); // not through mkdir's mode, which the umask trims
  copyFileSync(BUSYBOX, join(rootfs, "bin", "busybox"));
  for (const applet of sh(BUSYBOX, ["--list"]).split("\n")) {
    if (applet && applet !== "busybox") symlinkSync("busybox", join(rootfs, "bin", applet));
  }
  writeFileSync(join(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n");
  writeFileSync(join(rootfs, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n");
  const rootfsTar = join(work, "rootfs.tar");
  const imageTar = join(work, "image.tar");
  sh("tar", ["-C", rootfs, "-cf", rootfsTar, "."]);
  await first.docker(["import", "--change", 'CMD ["sh"]', rootfsTar, TEST_IMAGE]);
  if (others.length) {
    await first.docker(["save", "-o", imageTar, TEST_IMAGE]);
    await Promise.all(others.map((h) => h.docker(["load", "-i", imageTar])));
  }
  rmSync(work, { recursive: true, force: true });
  return TEST_IMAGE;
}

/** Tags TEST_IMAGE as shoal-test/busybox:<tag> on every host (same image, new reference: for update tests). */
export async function tagTestImage(cluster: E2ECluster, tag: string): Promise<string> {
  const ref = `${TEST_IMAGE_REPO}:${tag}`;
  await Promise.all(cluster.hosts.map((h) => h.docker(["tag", TEST_IMAGE, ref])));
  return ref;
}

// ---------------------------------------------------------------- cleanup

/** What of a cluster with this prefix still exists, one line per thing; empty once cleaned up. */
export function clusterLeftovers(prefix: string): string[] {
  const dir = clusterDir(prefix);
  const found = [
    ...ownedNetns(prefix).map((n) => `netns ${n}`),
    ...ownedLinks(prefix).map((l) => `link ${l}`),
    ...processesUnder(dir).map((pid) => `process ${pid}`),
  ];
  if (attempt("iptables", ["-w", "-C", ...forwardRule(prefix)])) found.push(`iptables rule ${forwardRule(prefix).join(" ")}`);
  try {
    accessSync(dir);
    found.push(`dir ${dir}`);
  } catch {
    // gone, as it should be
  }
  return found;
}

/** Synchronous so that it also works from the process's exit handler. */
function cleanupSync(prefix: string): void {
  killProcessesUnder(clusterDir(prefix));
  // veths before namespaces: deleting a link is synchronous, a namespace's teardown is not.
  for (const link of ownedLinks(prefix)) attempt("ip", ["link", "del", link]);
  for (const ns of ownedNetns(prefix)) attempt("ip", ["netns", "del", ns]);
  while (attempt("iptables", ["-w", "-D", ...forwardRule(prefix)]));
  // The engines' mounts lived in their private mount namespaces, gone with their processes.
  rmSync(clusterDir(prefix), { recursive: true, force: true });
}

const ownedNetns = (prefix: string) =>
  sh("ip", ["netns", "list"])
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(`${prefix}-`));

const ownedLinks = (prefix: string) =>
  sh("ip", ["-o", "link", "show"])
    .split("\n")
    .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1] ?? "")
    .filter((n) => n.startsWith(`${prefix}-`));

interface Proc {
  pid: number;
  ppid: number;
  cmdline: string;
}

function liveProcesses(): Proc[] {
  const procs: Proc[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // Zombies are dead; PID 1 on these machines reaps orphans late.
      if (state === "Z" || state === "X") continue;
      procs.push({ pid: Number(entry), ppid: Number(ppid), cmdline: readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ") });
    } catch {
      // exited while we looked
    }
  }
  return procs;
}

/**
 * Processes whose command line names a path under `dir` (dockerd, its containerd, the
 * containerd shims, a wrapper still starting) and all their descendants (docker-proxy,
 * the containers). Shims are daemonized and have no pid file; matching our own
 * directory finds them, and never anything we did not start.
 */
function processesUnder(dir: string): number[] {
  const procs = liveProcesses();
  const marker = `${dir}/`;
  const found = new Set(procs.filter((p) => p.pid !== process.pid && p.cmdline.includes(marker)).map((p) => p.pid));
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) {
      if (!found.has(p.pid) && found.has(p.ppid)) {
        found.add(p.pid);
        grew = true;
      }
    }
  }
  return [...found];
}

/** SIGKILL, repeated until nothing is left (a process may fork while we kill). */
function killProcessesUnder(dir: string): void {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const pids = processesUnder(dir);
    if (pids.length === 0) return;
    if (Date.now() > deadline) throw new Error(`processes under ${dir} survived SIGKILL: ${pids.join(", ")}`);
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    sleepSync(20);
  }
}

const activeClusters = new Set<string>();
const onExit = () => {
  for (const prefix of activeClusters) {
    try {
      cleanupSync(prefix);
    } catch (err) {
      console.error(`shoal e2e: cleanup of ${prefix} failed:`, err);
    }
  }
};
const onSignal = (signal: NodeJS.Signals) => {
  onExit();
  activeClusters.clear();
  process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
  process.kill(process.pid, signal); // die of the signal, as without the handler
};

function registerForExit(prefix: string): void {
  if (activeClusters.size === 0) process.on("exit", onExit).on("SIGINT", onSignal).on("SIGTERM", onSignal);
  activeClusters.add(prefix);
}

function unregisterForExit(prefix: string): void {
  activeClusters.delete(prefix);
  if (activeClusters.size === 0) process.off("exit", onExit).off("SIGINT", onSignal).off("SIGTERM", onSignal);
}

// ---------------------------------------------------------------- process helpers

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Runs a command that may fail (deleting what may already be gone); whether it succeeded. */
function attempt(cmd: string, args: string[]): boolean {
  try {
    sh(cmd, args);
    return true;
  } catch {
    return false;
  }
}

function run(cmd: string, args: string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 120_000, killSignal: "SIGKILL" });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === 0) resolve(Buffer.concat(out).toString());
      else reject(new Error(`${cmd} ${args.join(" ")}: ${signal ?? `exit ${code}`}: ${Buffer.concat(err).toString().trim()}`));
    });
    child.stdin.end(opts.input);
  });
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1000 });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("timeout", () => socket.destroy());
    socket.once("error", () => resolve(false));
    socket.once("close", () => resolve(false));
  });
}

function ping(socketPath: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: "/_ping", timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
    req.end();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
