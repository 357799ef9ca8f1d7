import { Option } from "commander";
import { spawn } from "node:child_process";
import { access, mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { JoinTokens, Node, Task } from "../api-types.js";
import { action, collect, ExitStatus, type Cli, type CommandGroup } from "../cli.js";
import { retryOnStaleVersion, type ApiClient } from "../client.js";
import { ApiCallError } from "../../protocol/http-client.js";
import { editMachines, knownHostsPath, readCliConfig, type MachineRecord } from "../config.js";
import { renderInspect, renderList, type Column } from "../format/output.js";
import { UsageError, capitalize, formatDurationMs, parseCount, parseDurationMs } from "../format/units.js";
import {
  agentInstallScript,
  dockerInstallPlan,
  dockerInstallScript,
  eachBounded,
  hostProblem,
  machinesFromFlags,
  membership,
  outcomeLine,
  parseHostsFile,
  parseProbe,
  probeScript,
  summaryLines,
  type HostProbe,
  type MachineAddress,
  type MachineOutcome,
} from "../machine-plan.js";
import { parseLabel } from "../service-flags.js";
import { knowsHost, runRemote, sshArgs, SshError, type SshTarget } from "../ssh.js";
import { isDesiredUp } from "../../domain/task-states.js";
import { ProgressPrinter } from "../wait.js";

/**
 * `shoal machine …`: bare hosts made into nodes over SSH from the operator's
 * machine, as docker-machine's generic driver did: Docker installed with the
 * host's package manager when missing, the agent through the control plane's
 * install.sh, many hosts at once. The records (address, user, key path) live in
 * the CLI config.
 */

const pollMs = 500;

interface CreateFlags {
  driver: string;
  ip?: string[];
  hostsFile?: string;
  sshUser: string;
  sshKey?: string;
  sshPort: string;
  label?: string[];
  role: "worker" | "manager";
  insecure?: boolean;
  parallel: string;
  timeout: string;
}

/** The step a machine is at, or its outcome: what its progress line shows. */
type Report = (text: string) => void;

const targetOf = (cli: Cli, r: Pick<MachineRecord, "address" | "port" | "user" | "keyPath">): SshTarget => ({
  address: r.address,
  port: r.port,
  user: r.user,
  ...(r.keyPath ? { keyPath: r.keyPath } : {}),
  knownHostsFile: knownHostsPath(cli.configPath),
});

async function probe(target: SshTarget, connectTimeoutS?: number): Promise<HostProbe> {
  const res = await runRemote(target, probeScript, { timeoutMs: 60_000, connectTimeoutS });
  return parseProbe(res.stdout);
}

/** The node of a stored credential, or undefined when the cluster has none of that id. */
async function findNode(client: ApiClient, id: string): Promise<Node | undefined> {
  try {
    return await client.get<Node>(`/v1/nodes/${encodeURIComponent(id)}`);
  } catch (err) {
    if (err instanceof ApiCallError && err.status === 404) return undefined;
    throw err;
  }
}

const lastLines = (text: string, n = 3) => text.trim().split("\n").slice(-n).join(" / ");

/** A plain-http control plane that isn't loopback sends join tokens and credentials in the clear. */
function refusePlainHttp(url: string, insecure: boolean | undefined) {
  const { protocol, hostname } = new URL(url);
  const loopback = hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
  if (protocol === "http:" && !loopback && !insecure)
    throw new UsageError(`the control plane URL ${url} is plain http: the hosts would get their join token and credential unencrypted; use https, or pass --insecure`);
}

interface Provision {
  cli: Cli;
  client: ApiClient;
  url: string;
  flags: CreateFlags;
  labels: Record<string, string>;
  token: () => Promise<string>;
  timeoutMs: number;
}

/** One machine from bare host to ready node; throws what went wrong and what to do. */
async function provision(p: Provision, m: MachineAddress, report: Report): Promise<MachineOutcome> {
  const record = { driver: "generic" as const, address: m.address, port: Number(p.flags.sshPort), user: p.flags.sshUser, ...(p.flags.sshKey ? { keyPath: p.flags.sshKey } : {}) };
  const target = targetOf(p.cli, record);
  const save = (nodeId: string) => editMachines(p.cli.configPath, (all) => (all[m.name] = { ...record, url: p.url, nodeId, createdAt: new Date(p.cli.now()).toISOString() }));
  report(`connecting to ${target.user}@${target.address}:${target.port}`);
  const firstContact = !(await knowsHost(target));
  let host = await probe(target);
  if (firstContact) report(`host key trusted on first use, recorded in ${target.knownHostsFile}`);
  const problem = hostProblem(host, target.user);
  if (problem) throw new Error(problem);

  if (host.joined) {
    const node = await findNode(p.client, host.joined.nodeId);
    const joined = membership(host.joined, p.url, node !== undefined);
    if (joined === "this") {
      await save(node!.id);
      return { state: "already", nodeId: node!.id, hostname: node!.description.hostname };
    }
    throw new Error(
      `the host is already a node of ${host.joined.url === p.url ? "this cluster, removed since" : `the cluster at ${host.joined.url}`} (node ${host.joined.nodeId}): run shoal-agent leave -f on the host first, then run this again`,
    );
  }

  if (!host.dockerCli) {
    const plan = dockerInstallPlan(host);
    if ("error" in plan) throw new Error(`Docker is not installed and cannot be installed here: ${plan.error}; install Docker on the host yourself, then run this again`);
    report(`installing Docker with ${plan.manager}`);
    const res = await runRemote(target, dockerInstallScript(plan, host.uid !== 0), { timeoutMs: 900_000 });
    if (res.code !== 0) {
      const failed = /^failed=(.*)$/m.exec(res.stdout)?.[1] ?? plan.commands.join(" && ");
      throw new Error(`installing Docker with ${plan.manager} failed: "${failed}" answered: ${lastLines(res.stdout.replace(/^(running|failed)=.*\n/gm, ""))}; install Docker on the host yourself, then run this again`);
    }
    host = await probe(target);
    if (!host.dockerCli) throw new Error(`${plan.manager} installed Docker, but the docker command is still not on the PATH of ${target.user}'s shell there`);
  }
  if (!host.dockerVersion)
    throw new Error(`Docker is installed but its engine does not answer (${host.dockerError || "no answer"}): start it (systemctl start docker), then run this again`);

  report(`installing the agent (Docker ${host.dockerVersion})`);
  const res = await runRemote(target, agentInstallScript(host, { url: p.url, joinToken: await p.token(), insecure: Boolean(p.flags.insecure) }), { timeoutMs: 300_000 });
  const unreachable = /^unreachable=(.*)$/m.exec(res.stdout)?.[1];
  if (unreachable !== undefined)
    throw new Error(
      `the host cannot reach the control plane at ${p.url} (${unreachable}): the hosts must reach the URL you are logged in to; start the control plane with --public-url set to an address they reach, and shoal login to that URL`,
    );
  if (res.code !== 0) throw new Error(`install.sh failed on the host: ${lastLines(`${res.stdout}\n${res.stderr}`)}`);

  report("waiting for the node to be ready");
  const deadline = p.cli.now() + p.timeoutMs;
  let node: Node | undefined;
  for (;;) {
    const nodes = await p.client.get<Node[]>("/v1/nodes");
    node = nodes.find((n) => n.description.machineId === host.machineId && n.status.state === "ready");
    if (node) break;
    if (p.cli.now() > deadline)
      throw new Error(
        `the agent is installed but its node was not ready within ${formatDurationMs(p.timeoutMs)}: see the agent's log on the host (journalctl -u shoal-agent, or /var/log/shoal-agent.log)`,
      );
    await new Promise((r) => setTimeout(r, pollMs));
  }
  if (Object.keys(p.labels).length) {
    const id = node.id;
    node = await retryOnStaleVersion(async () => {
      const current = await p.client.get<Node>(`/v1/nodes/${id}`);
      return p.client.call<Node>("PATCH", `/v1/nodes/${id}`, { query: { version: String(current.version) }, body: { labelAdd: p.labels } });
    });
  }
  await save(node.id);
  return { state: "created", nodeId: node.id, hostname: node.description.hostname };
}

const explain = (err: unknown) => (err instanceof Error ? err.message : String(err));

async function createMachines(cli: Cli, name: string | undefined, given: CreateFlags) {
  const flags = { ...given, ...(given.sshKey ? { sshKey: cli.path(given.sshKey) } : {}), ...(given.hostsFile ? { hostsFile: cli.path(given.hostsFile) } : {}) };
  if (flags.hostsFile && (name || flags.ip?.length)) throw new UsageError("give either --hosts-file FILE or NAME with --ip ADDR, not both");
  let machines: MachineAddress[];
  if (flags.hostsFile) {
    let text: string;
    try {
      text = await readFile(flags.hostsFile, "utf8");
    } catch (err) {
      throw new UsageError(`cannot read the hosts file ${flags.hostsFile}: ${explain(err)}`);
    }
    machines = parseHostsFile(text, flags.hostsFile);
  } else machines = machinesFromFlags(name, flags.ip ?? []);
  const port = parseCount(flags.sshPort);
  if (port < 1 || port > 65535) throw new UsageError(`invalid --ssh-port ${flags.sshPort}: 1 to 65535`);
  const parallel = parseCount(flags.parallel);
  if (parallel < 1) throw new UsageError("--parallel must be at least 1");
  const timeoutMs = parseDurationMs(flags.timeout);
  if (flags.sshKey) {
    try {
      await access(flags.sshKey);
    } catch {
      throw new Error(
        `the SSH key ${flags.sshKey} does not exist: make one with ssh-keygen -t ed25519 -f ${flags.sshKey}, then put ${flags.sshKey}.pub in ~${flags.sshUser}/.ssh/authorized_keys on each host (ssh-copy-id -i ${flags.sshKey} ${flags.sshUser}@ADDR)`,
      );
    }
  }
  const known = (await readCliConfig(cli.configPath)).machines ?? {};
  for (const m of machines) {
    const had = known[m.name];
    if (had && had.address !== m.address) throw new Error(`machine ${m.name} is already ${had.user}@${had.address}: shoal machine rm ${m.name} first, or pick another name`);
  }

  const client = await cli.client();
  const url = client.target.url.replace(/\/+$/, "");
  refusePlainHttp(url, flags.insecure);
  // ssh records first-seen host keys there, and can't when the directory is missing (it only warns).
  await mkdir(dirname(knownHostsPath(cli.configPath)), { recursive: true, mode: 0o700 });
  let token: Promise<string> | undefined;
  const p: Provision = {
    cli,
    client,
    url,
    flags,
    labels: Object.fromEntries((flags.label ?? []).map(parseLabel)),
    // Fetched once, when the first machine needs it; never stored.
    token: () => (token ??= client.get<JoinTokens>("/v1/swarm/join-tokens").then((t) => t[flags.role])),
    timeoutMs,
  };

  const printer = new ProgressPrinter(cli);
  const lines = new Map(machines.map((m) => [m.name, "waiting"]));
  const show = () => printer.show([...lines].map(([id, text]) => ({ id, text })));
  show();
  const outcomes = new Map<string, MachineOutcome>();
  await eachBounded(machines, parallel, async (m) => {
    const report = (text: string) => {
      lines.set(m.name, text);
      show();
    };
    let outcome: MachineOutcome;
    try {
      outcome = await provision(p, m, report);
    } catch (err) {
      outcome = { state: "failed", error: explain(err) };
    }
    outcomes.set(m.name, outcome);
    report(outcomeLine(outcome));
  });
  const all = machines.map((m) => [m.name, outcomes.get(m.name)!] as [string, MachineOutcome]);
  cli.out(`${summaryLines(all).join("\n")}\n`);
  const failed = all.filter(([, o]) => o.state === "failed").length;
  if (failed) throw new ExitStatus(1);
}

async function recordOf(cli: Cli, name: string): Promise<MachineRecord> {
  const record = (await readCliConfig(cli.configPath)).machines?.[name];
  if (!record) throw new Error(`no machine named ${name}; see shoal machine ls`);
  return record;
}

interface MachineRow {
  name: string;
  record: MachineRecord;
  state: string;
  docker: string;
  nodeStatus: string;
}

const machineColumns: Column<MachineRow>[] = [
  { field: "Name", header: "NAME", value: (r) => r.name },
  { field: "DriverName", header: "DRIVER", value: (r) => r.record.driver },
  { field: "URL", header: "URL", value: (r) => `ssh://${r.record.user}@${r.record.address}:${r.record.port}` },
  { field: "State", header: "STATE", value: (r) => r.state },
  { field: "DockerVersion", header: "DOCKER", value: (r) => r.docker },
  { field: "NodeStatus", header: "NODE STATUS", value: (r) => r.nodeStatus },
];

/** Drains the node and waits until none of its tasks is wanted or running there. */
async function drainNode(cli: Cli, client: ApiClient, nodeId: string, timeoutMs: number, report: Report) {
  await retryOnStaleVersion(async () => {
    const node = await client.get<Node>(`/v1/nodes/${nodeId}`);
    return client.call<Node>("PATCH", `/v1/nodes/${nodeId}`, { query: { version: String(node.version) }, body: { availability: "drain" } });
  });
  const deadline = cli.now() + timeoutMs;
  for (;;) {
    const tasks = await client.get<Task[]>("/v1/tasks", { node: nodeId });
    const staying = tasks.filter((t) => isDesiredUp(t.desiredState) || t.status.state === "running");
    if (staying.length === 0) return;
    report(`draining: ${staying.length} task${staying.length === 1 ? "" : "s"} still on the node`);
    if (cli.now() > deadline) throw new Error(`its tasks did not move within ${formatDurationMs(timeoutMs)}; shoal machine rm -f removes it anyway`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export const registerMachineCommands: CommandGroup = (program, cli) => {
  const machine = program.command("machine").description("Make Docker hosts into nodes over SSH and manage them (docker-machine's generic driver)");

  machine
    .command("create")
    .description("Install Docker (when missing) and the agent on hosts over SSH, and wait until they are ready nodes")
    .argument("[name]", "the machine's name (with --ip)")
    .addOption(new Option("-d, --driver <driver>", "Driver: an existing host reached over SSH").choices(["generic"]).default("generic"))
    .option("--ip <address>", "The host's address (repeat for several: NAME-1, NAME-2, …)", collect)
    .option("--hosts-file <file>", "Machines to create, one 'NAME ADDRESS' a line")
    .option("--ssh-user <user>", "SSH user (root, or one with passwordless sudo)", "root")
    .option("--ssh-key <path>", "SSH private key (default: ssh's own keys and agent)")
    .option("--ssh-port <port>", "SSH port", "22")
    .option("--label <key=value>", "Node label to set", collect)
    .addOption(new Option("--role <role>", "Role of the new nodes").choices(["worker", "manager"]).default("worker"))
    .option("--insecure", "Allow a plain http:// control plane URL")
    .option("--parallel <n>", "Machines provisioned at once", "10")
    .option("--timeout <duration>", "How long to wait for each node to be ready", "2m")
    .action(action(async (name: string | undefined, flags: CreateFlags) => createMachines(cli, name, flags)));

  machine
    .command("ls")
    .alias("list")
    .description("List machines")
    .option("--format <format>", "Format output using a custom template: 'table', 'table TEMPLATE', 'json' or 'TEMPLATE'")
    .option("-q, --quiet", "Only display names")
    .action(
      action(async (opts: { format?: string; quiet?: boolean }) => {
        const machines = Object.entries((await readCliConfig(cli.configPath)).machines ?? {}).sort(([a], [b]) => a.localeCompare(b));
        const client = await cli.client();
        const nodes = new Map((await client.get<Node[]>("/v1/nodes")).map((n) => [n.id, n]));
        const rows = await Promise.all(
          machines.map(async ([name, record]): Promise<MachineRow> => {
            const node = nodes.get(record.nodeId);
            const nodeStatus = node ? capitalize(node.status.state) : "Not a node";
            if (opts.quiet) return { name, record, state: "", docker: "", nodeStatus };
            try {
              const host = await probe(targetOf(cli, record), 5);
              return { name, record, state: "Running", docker: host.dockerVersion || "Unknown", nodeStatus };
            } catch (err) {
              return { name, record, state: err instanceof SshError ? "Unreachable" : "Error", docker: "Unknown", nodeStatus };
            }
          }),
        );
        cli.out(renderList(rows, machineColumns, opts));
      }),
    );

  machine
    .command("inspect")
    .description("Display a machine's record")
    .argument("<name...>")
    .option("-f, --format <format>", "Format output using a custom template ('json' or TEMPLATE)")
    .action(
      action(async (names: string[], opts: { format?: string }) => {
        const records = await Promise.all(names.map(async (name) => ({ Name: name, ...(await recordOf(cli, name)), knownHostsFile: knownHostsPath(cli.configPath) })));
        cli.out(renderInspect(records, opts));
      }),
    );

  machine
    .command("ssh")
    .description("Log into a machine, or run a command there")
    .argument("<name>")
    .argument("[command...]", "the command (after --)")
    .action(
      action(async (name: string, command: string[]) => {
        const target = targetOf(cli, await recordOf(cli, name));
        const interactive = command.length === 0;
        const code = await new Promise<number>((resolve, reject) => {
          const child = spawn("ssh", [...sshArgs(target, { tty: interactive && cli.stdoutIsTty }), ...command], {
            stdio: interactive ? "inherit" : ["ignore", "pipe", "pipe"],
          });
          child.stdout?.on("data", (d: Buffer) => cli.out(d.toString("utf8")));
          child.stderr?.on("data", (d: Buffer) => cli.err(d.toString("utf8")));
          child.on("error", (e) => reject(new Error(`cannot run ssh (the OpenSSH client): ${e.message}`)));
          child.on("close", (c) => resolve(c ?? 1));
        });
        if (code !== 0) throw new ExitStatus(code);
      }),
    );

  machine
    .command("upgrade")
    .description("Upgrade the machines' agents to the control plane's version")
    .argument("<name...>")
    .option("--insecure", "Allow a plain http:// control plane URL")
    .action(
      action(async (names: string[], opts: { insecure?: boolean }) => {
        const url = (await cli.client()).target.url.replace(/\/+$/, "");
        refusePlainHttp(url, opts.insecure);
        for (const name of names) {
          const target = targetOf(cli, await recordOf(cli, name));
          const res = await runRemote(target, agentInstallScript(await probe(target), { url, insecure: Boolean(opts.insecure) }), { timeoutMs: 300_000 });
          if (res.code !== 0) throw new Error(`${name}: install.sh failed on the host: ${lastLines(`${res.stdout}\n${res.stderr}`)}`);
          cli.out(`${name}: ${lastLines(res.stdout, 1).replace(/^shoal-agent: /, "")}\n`);
        }
      }),
    );

  machine
    .command("rm")
    .alias("remove")
    .description("Drain the machines' nodes, wait for their tasks to move, remove the nodes and uninstall the agents")
    .argument("<name...>")
    .option("-f, --force", "Remove even when the host or its node is gone (the agent may be left on an unreachable host)")
    .option("--timeout <duration>", "How long to wait for the tasks to move", "2m")
    .action(
      action(async (names: string[], opts: { force?: boolean; timeout: string }) => {
        const timeoutMs = parseDurationMs(opts.timeout);
        const client = await cli.client();
        const url = client.target.url.replace(/\/+$/, "");
        const errors: string[] = [];
        for (const name of names) {
          const record = await recordOf(cli, name);
          const report = (text: string) => cli.out(`${name}: ${text}\n`);
          try {
            const node = await findNode(client, record.nodeId);
            if (node) {
              report(`draining node ${node.id}`);
              try {
                await drainNode(cli, client, node.id, timeoutMs, report);
              } catch (err) {
                if (!opts.force) throw err;
                report(`not drained (${explain(err)}); forced`);
              }
            }
            const target = targetOf(cli, record);
            try {
              const host = await probe(target);
              const res = await runRemote(target, agentInstallScript(host, { url, insecure: true, uninstall: true }), { timeoutMs: 300_000 });
              if (res.code !== 0) throw new Error(`uninstalling the agent failed: ${lastLines(`${res.stdout}\n${res.stderr}`)}`);
              report("agent uninstalled");
            } catch (err) {
              if (!opts.force) throw new Error(`${explain(err)}; shoal machine rm -f ${name} forgets it anyway`);
              report(`agent not uninstalled (${explain(err)}); forced`);
            }
            if (node) await client.call("DELETE", `/v1/nodes/${node.id}`, { query: { force: "true" } });
            await editMachines(cli.configPath, (all) => delete all[name]);
            cli.out(`${name}\n`);
          } catch (err) {
            errors.push(`${name}: ${explain(err)}`);
          }
        }
        if (errors.length) throw new Error(errors.join("\n"));
      }),
    );
};
