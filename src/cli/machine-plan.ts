import { shellQuote } from "../domain/shell-words.js";
import { UsageError } from "./format/units.js";

/**
 * `shoal machine`'s pure parts: which machines a command names, what the host
 * probe answered, how Docker gets installed on that host, the shell scripts run
 * there over SSH, what an SSH failure means, and the progress and summary lines.
 * The I/O (ssh, the API) is in commands/machine.ts and ssh.ts.
 */

export interface MachineAddress {
  name: string;
  address: string;
}

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const addressPattern = /^(?:[A-Za-z0-9][A-Za-z0-9.-]*|\[?[0-9A-Fa-f:.]+\]?)$/;

function checkMachine(m: MachineAddress, where: string): MachineAddress {
  if (!namePattern.test(m.name)) throw new UsageError(`${where}invalid machine name ${JSON.stringify(m.name)}: letters, digits, '.', '_' and '-', at most 63`);
  if (!addressPattern.test(m.address)) throw new UsageError(`${where}invalid address ${JSON.stringify(m.address)}: an IP address or a host name`);
  return { name: m.name, address: m.address.replace(/^\[(.*)\]$/, "$1") };
}

/** A hosts file: one `NAME ADDR` a line; blank lines and `#` comments are skipped. */
export function parseHostsFile(text: string, file: string): MachineAddress[] {
  const machines: MachineAddress[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) return;
    const fields = line.split(/\s+/);
    if (fields.length !== 2) throw new UsageError(`${file}:${i + 1}: expected NAME ADDR, got ${JSON.stringify(line)}`);
    machines.push(checkMachine({ name: fields[0]!, address: fields[1]! }, `${file}:${i + 1}: `));
  });
  if (machines.length === 0) throw new UsageError(`${file} names no machine: one NAME ADDR a line`);
  return unique(machines);
}

/** `NAME --ip A`: one machine; `NAME --ip A --ip B`: NAME-1, NAME-2. */
export function machinesFromFlags(name: string | undefined, ips: string[]): MachineAddress[] {
  if (!name) throw new UsageError("give the machine's NAME (or --hosts-file FILE)");
  if (ips.length === 0) throw new UsageError("give the host's address with --ip ADDR (or --hosts-file FILE)");
  const machines = ips.length === 1 ? [{ name, address: ips[0]! }] : ips.map((address, i) => ({ name: `${name}-${i + 1}`, address }));
  return unique(machines.map((m) => checkMachine(m, "")));
}

function unique(machines: MachineAddress[]): MachineAddress[] {
  const seen = new Set<string>();
  for (const m of machines) {
    if (seen.has(m.name)) throw new UsageError(`machine ${m.name} is named twice`);
    seen.add(m.name);
  }
  return machines;
}

// ---------------------------------------------------------------- the host probe

/** What the probe script found on a host. */
export interface HostProbe {
  uid: number;
  /** sudo without a password works (only asked when not root). */
  sudo: boolean;
  os: string;
  arch: string;
  /** /etc/os-release ID and ID_LIKE, lower case. */
  distro: { id: string; idLike: string[]; pretty: string };
  packageManagers: string[];
  systemd: boolean;
  fetcher: "curl" | "wget" | "";
  /** The docker CLI's path, "" when it is not on PATH. */
  dockerCli: string;
  /** The engine's version, "" when it did not answer. */
  dockerVersion: string;
  dockerError: string;
  /** The engine's name: the hostname its node reports. */
  engineName: string;
  dockerSocket: string;
  machineId: string;
  /** Install root for hosts that share a filesystem (the e2e hosts), from SHOAL_AGENT_PREFIX; "" for /. */
  agentPrefix: string;
  /** The control plane and node of the agent's stored credential, when the host has joined one. */
  joined?: { url: string; nodeId: string };
}

/**
 * Prints `key=value` lines, read by parseProbe. It never prints the node's
 * credential: only the URL and node id stored beside it.
 */
export const probeScript = `_shoal_probe() {
  say() { printf '%s=%s\\n' "$1" "$2"; }
  say uid "$(id -u)"
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then say sudo yes; fi
  say os "$(uname -s)"
  say arch "$(uname -m)"
  if [ -r /etc/os-release ]; then . /etc/os-release; fi
  say id "\${ID:-}"
  say id_like "\${ID_LIKE:-}"
  say pretty "\${PRETTY_NAME:-}"
  for m in apt-get dnf yum; do if command -v $m >/dev/null 2>&1; then say pkg $m; fi; done
  if [ -d /run/systemd/system ]; then say systemd yes; fi
  if command -v curl >/dev/null 2>&1; then say fetcher curl; elif command -v wget >/dev/null 2>&1; then say fetcher wget; fi
  as_root=; if [ "$(id -u)" != 0 ]; then as_root="sudo -n"; fi
  if docker=$(command -v docker 2>/dev/null); then
    say docker_cli "$docker"
    if v=$($as_root docker version --format '{{.Server.Version}}' 2>&1); then say docker_version "$v"; else say docker_error "$(printf '%s' "$v" | tail -n 1)"; fi
    say engine_name "$($as_root docker info --format '{{.Name}}' 2>/dev/null)"
  fi
  case \${DOCKER_HOST:-} in unix://*) say docker_socket "\${DOCKER_HOST#unix://}" ;; *) say docker_socket /var/run/docker.sock ;; esac
  say machine_id "\${SHOAL_MACHINE_ID:-$(cat /etc/machine-id 2>/dev/null)}"
  say prefix "\${SHOAL_AGENT_PREFIX:-}"
  cred="\${SHOAL_AGENT_PREFIX:-}/var/lib/shoal-agent/credential.json"
  if $as_root test -r "$cred"; then
    say joined_url "$($as_root sed -n 's/.*"url":"\\([^"]*\\)".*/\\1/p' "$cred")"
    say joined_node "$($as_root sed -n 's/.*"nodeId":"\\([^"]*\\)".*/\\1/p' "$cred")"
  fi
}
_shoal_probe </dev/null
`;

export function parseProbe(output: string): HostProbe {
  const values = new Map<string, string[]>();
  for (const line of output.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) values.set(line.slice(0, eq), [...(values.get(line.slice(0, eq)) ?? []), line.slice(eq + 1)]);
  }
  const one = (k: string) => values.get(k)?.[0]?.trim() ?? "";
  if (!values.has("uid")) throw new Error(`the host's shell did not answer the probe: ${JSON.stringify(output.slice(0, 200))}`);
  const fetcher = one("fetcher");
  const joinedUrl = one("joined_url");
  const joinedNode = one("joined_node");
  return {
    uid: Number(one("uid")),
    sudo: one("sudo") === "yes",
    os: one("os"),
    arch: one("arch"),
    distro: { id: one("id").toLowerCase(), idLike: one("id_like").toLowerCase().split(/\s+/).filter(Boolean), pretty: one("pretty") },
    packageManagers: values.get("pkg") ?? [],
    systemd: one("systemd") === "yes",
    fetcher: fetcher === "curl" || fetcher === "wget" ? fetcher : "",
    dockerCli: one("docker_cli"),
    dockerVersion: one("docker_version"),
    dockerError: one("docker_error"),
    engineName: one("engine_name"),
    dockerSocket: one("docker_socket") || "/var/run/docker.sock",
    machineId: one("machine_id"),
    agentPrefix: one("prefix"),
    ...(joinedNode ? { joined: { url: joinedUrl, nodeId: joinedNode } } : {}),
  };
}

/** Why the host can't take the agent at all, before anything is changed; undefined when it can. */
export function hostProblem(probe: HostProbe, user: string): string | undefined {
  if (probe.os !== "Linux") return `the host runs ${probe.os || "an unknown system"}, not Linux: shoal's agent needs a Linux Docker host`;
  if (probe.uid !== 0 && !probe.sudo)
    return `${user} is not root there and sudo asks for a password: use --ssh-user root, or allow ${user} passwordless sudo`;
  if (!probe.fetcher) return "the host has neither curl nor wget: install one of them (the agent is downloaded from the control plane)";
  return undefined;
}

// ---------------------------------------------------------------- Docker, per distro

export type DockerInstall = { manager: string; commands: string[] } | { error: string };

const dockerCeRepo = "https://download.docker.com/linux/centos/docker-ce.repo";
const rhelFamily = ["rhel", "centos", "rocky", "almalinux", "ol", "fedora"];

/**
 * How Docker gets installed with the host's own package manager: Debian and
 * Ubuntu (apt-get, the distribution's docker.io), Fedora (dnf, moby-engine),
 * Amazon Linux (docker), and RHEL, CentOS, Rocky, AlmaLinux and Oracle Linux
 * (dnf or yum, docker-ce from Docker's repository). Then the engine is enabled
 * and started where systemd runs.
 */
export function dockerInstallPlan(probe: Pick<HostProbe, "distro" | "packageManagers" | "systemd">): DockerInstall {
  const { id, idLike } = probe.distro;
  const family = [id, ...idLike];
  const has = (m: string) => probe.packageManagers.includes(m);
  const start = probe.systemd ? ["systemctl enable --now docker"] : [];
  const shown = probe.distro.pretty || id || "an unknown distribution";
  if (family.some((f) => f === "debian" || f === "ubuntu")) {
    if (!has("apt-get")) return { error: `${shown} has no apt-get` };
    return {
      manager: "apt-get",
      commands: ["apt-get update", "DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io", ...start],
    };
  }
  const rpm = has("dnf") ? "dnf" : has("yum") ? "yum" : undefined;
  if (id === "amzn") {
    if (!rpm) return { error: `${shown} has neither dnf nor yum` };
    return { manager: rpm, commands: [`${rpm} install -y docker`, ...start] };
  }
  if (id === "fedora") {
    if (!rpm) return { error: `${shown} has neither dnf nor yum` };
    return { manager: rpm, commands: [`${rpm} install -y moby-engine`, ...start] };
  }
  if (family.some((f) => rhelFamily.includes(f))) {
    if (!rpm) return { error: `${shown} has neither dnf nor yum` };
    const addRepo =
      rpm === "dnf" ? ["dnf install -y dnf-plugins-core", `dnf config-manager --add-repo ${dockerCeRepo}`] : ["yum install -y yum-utils", `yum-config-manager --add-repo ${dockerCeRepo}`];
    return { manager: rpm, commands: [...addRepo, `${rpm} install -y docker-ce docker-ce-cli containerd.io`, ...start] };
  }
  return { error: `no supported package manager for ${shown} (Debian, Ubuntu and the RHEL family are: apt-get, dnf or yum)` };
}

/** Runs the plan's commands (as root) one by one; the first failure prints `failed=COMMAND` and exits 3. */
export function dockerInstallScript(plan: { commands: string[] }, asRoot: boolean): string {
  const run = (c: string) => `${asRoot ? "sudo -n " : ""}sh -c ${shellQuote(c)}`;
  const steps = plan.commands.map(
    (c) => `  printf 'running=%s\\n' ${shellQuote(c)}\n  ${run(c)} </dev/null >>"$log" 2>&1 || { printf 'failed=%s\\n' ${shellQuote(c)}; tail -n 5 "$log"; rm -f "$log"; exit 3; }`,
  );
  return `_shoal_docker() {\n  log=$(mktemp)\n${steps.join("\n")}\n  rm -f "$log"\n}\n_shoal_docker\n`;
}

// ---------------------------------------------------------------- the agent

export interface AgentInstall {
  /** The control plane as the host reaches it. */
  url: string;
  /** The join token; omitted for an upgrade (install.sh keeps the stored one). */
  joinToken?: string;
  insecure: boolean;
  uninstall?: boolean;
}

/**
 * Downloads the control plane's install.sh on the host and runs it. A download
 * that fails prints `unreachable=…` and exits 4: the host can't reach the URL.
 * The join token travels in this script, on ssh's stdin: never on a command line.
 */
export function agentInstallScript(probe: Pick<HostProbe, "uid" | "fetcher" | "dockerSocket" | "machineId" | "agentPrefix">, opts: AgentInstall): string {
  const url = opts.url.replace(/\/+$/, "");
  const args = ["--url", url, "--docker-socket", probe.dockerSocket];
  if (probe.agentPrefix) args.push("--prefix", probe.agentPrefix);
  // A host that names its machine id in the environment (the e2e hosts share /etc/machine-id).
  if (probe.agentPrefix && probe.machineId) args.push("--machine-id", probe.machineId);
  if (opts.insecure) args.push("--insecure");
  if (opts.uninstall) args.push("--uninstall");
  const download =
    probe.fetcher === "wget" ? `wget -q -T 20 -O "$script" ${shellQuote(`${url}/install.sh`)}` : `curl -fsS --max-time 20 -o "$script" ${shellQuote(`${url}/install.sh`)}`;
  const sudo = probe.uid === 0 ? "" : "sudo -n --preserve-env=SHOAL_JOIN_TOKEN ";
  return `_shoal_agent() {
  ${opts.joinToken ? `SHOAL_JOIN_TOKEN=${shellQuote(opts.joinToken)}; export SHOAL_JOIN_TOKEN` : "unset SHOAL_JOIN_TOKEN"}
  script=$(mktemp)
  if ! err=$(${download} 2>&1); then printf 'unreachable=%s\\n' "$(printf '%s' "$err" | tail -n 1)"; rm -f "$script"; exit 4; fi
  ${sudo}sh "$script" ${args.map(shellQuote).join(" ")}
  code=$?
  rm -f "$script"
  exit $code
}
_shoal_agent </dev/null
`;
}

/** What a host's stored credential says about joining this cluster. */
export function membership(joined: HostProbe["joined"], url: string, nodeExists: boolean): "none" | "this" | "other" {
  if (!joined) return "none";
  const same = joined.url.replace(/\/+$/, "") === url.replace(/\/+$/, "");
  return same && nodeExists ? "this" : "other";
}

// ---------------------------------------------------------------- SSH failures

/** ssh's own failure (exit 255) as what to do about it; undefined when it is not one we know. */
export function explainSshFailure(stderr: string, t: { user: string; address: string; port: number; keyPath?: string; knownHostsFile: string }): string | undefined {
  const said = stderr.trim().split("\n").filter(Boolean).at(-1) ?? "";
  const where = `${t.address}:${t.port}`;
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/.test(stderr))
    return `the host key of ${where} is not the one recorded in ${t.knownHostsFile}: if the host was reinstalled, forget the old key with ssh-keygen -R ${
      t.port === 22 ? t.address : `'[${t.address}]:${t.port}'`
    } -f ${t.knownHostsFile} and run again`;
  if (/Permission denied|Too many authentication failures/.test(stderr))
    return `${where} refused ${t.keyPath ? `the SSH key ${t.keyPath}` : "the SSH keys tried"} for ${t.user} (${said}): add the public key to ~${t.user}/.ssh/authorized_keys on the host (ssh-copy-id ${
      t.keyPath ? `-i ${t.keyPath} ` : ""
    }${t.user}@${t.address}), or give the right one with --ssh-key`;
  if (/Connection refused|No route to host|timed out|Could not resolve|Network is unreachable|Connection closed|Connection reset/.test(stderr))
    return `cannot reach ${where} over SSH (${said}): check the address, that sshd runs on the host and listens on that port (--ssh-port)`;
  return undefined;
}

// ---------------------------------------------------------------- progress and summary

export type MachineOutcome = { state: "created" | "already"; nodeId: string; hostname: string } | { state: "failed"; error: string };

/** The line a finished machine shows. */
export function outcomeLine(o: MachineOutcome): string {
  if (o.state === "failed") return `failed: ${o.error}`;
  return o.state === "already" ? `already a node (${o.nodeId}, ${o.hostname}); nothing changed` : `ready: node ${o.nodeId} (${o.hostname})`;
}

/** The last lines: each failure again, then the counts. */
export function summaryLines(outcomes: [string, MachineOutcome][]): string[] {
  const count = (s: MachineOutcome["state"]) => outcomes.filter(([, o]) => o.state === s).length;
  const failed = outcomes.filter((e): e is [string, Extract<MachineOutcome, { state: "failed" }>] => e[1].state === "failed");
  const parts = [`${count("created")} created`, `${count("already")} already nodes`, `${failed.length} failed`];
  return [
    ...failed.map(([name, o]) => `${name}: ${o.error}`),
    `${outcomes.length} machine${outcomes.length === 1 ? "" : "s"}: ${parts.join(", ")}`,
  ];
}

/** Runs `work` over `items`, at most `limit` at a time, in order of starting; `work` handles its own errors. */
export async function eachBounded<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
