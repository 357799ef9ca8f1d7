import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { z } from "zod";

export const usage = `Usage: shoal-agent join --url URL [options]
       shoal-agent run [options]
       shoal-agent leave [-f] [options]

join: exchanges a join token for this node's credential (kept in the state dir),
then runs. run: runs with the stored credential. The join token is read from
SHOAL_JOIN_TOKEN or the file given by --token-file, never from the command line.
leave: removes this node from its cluster and forgets the credential (joining
another cluster needs it first); -f forgets it even when the control plane
can't be told. The running agent stops at its next call.

  --url URL              the control plane (SHOAL_URL)
  --token-file FILE      file holding the join token
  --state-dir DIR        credential and state (SHOAL_AGENT_STATE_DIR, default /var/lib/shoal-agent)
  --docker-socket PATH   Docker Engine socket (DOCKER_SOCKET, default /var/run/docker.sock)
  --addr IP              address other hosts reach this node at (SHOAL_AGENT_ADDR, default: first non-loopback IPv4)
  --machine-id ID        stable id of this machine (SHOAL_MACHINE_ID, default /etc/machine-id)
  --hostname NAME        reported hostname (default: the engine's)
  --resolv-conf FILE     upstream resolvers for names overlays do not know (default /etc/resolv.conf)
  --secrets-dir DIR      where tasks' secrets are kept, on a tmpfs (SHOAL_AGENT_SECRETS_DIR,
                         default /run/shoal-agent/secrets when /run is a tmpfs, else /dev/shm/shoal-agent/secrets)
  --log-format FORMAT    text or json (SHOAL_LOG_FORMAT, default text)
  -f, --force            leave: even when the control plane can't be reached
  -h, --help             show this help
`;

const ConfigSchema = z.object({
  command: z.enum(["join", "run", "leave"]),
  url: z.url().optional(),
  joinToken: z.string().min(1).optional(),
  stateDir: z.string().min(1),
  dockerSocket: z.string().min(1),
  addr: z.string().optional(),
  machineId: z.string().min(8).optional(),
  hostname: z.string().optional(),
  resolvConf: z.string().min(1).optional(),
  secretsDir: z.string().regex(/^\//, "an absolute path").optional(),
  logFormat: z.enum(["text", "json"]),
  force: z.boolean().optional(),
});
export type AgentConfig = z.infer<typeof ConfigSchema>;

/** The agent's one config loader: flags, then environment, then defaults. */
export function loadAgentConfig(argv: string[], env: NodeJS.ProcessEnv): AgentConfig | "help" {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: "string" },
      "token-file": { type: "string" },
      "state-dir": { type: "string" },
      "docker-socket": { type: "string" },
      addr: { type: "string" },
      "machine-id": { type: "string" },
      hostname: { type: "string" },
      "resolv-conf": { type: "string" },
      "secrets-dir": { type: "string" },
      "log-format": { type: "string" },
      force: { type: "boolean", short: "f" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  const tokenFile = values["token-file"];
  const parsed = ConfigSchema.safeParse({
    command: positionals[0] ?? "run",
    url: values.url ?? env.SHOAL_URL,
    joinToken: tokenFile ? readFileSync(tokenFile, "utf8").trim() : env.SHOAL_JOIN_TOKEN,
    stateDir: values["state-dir"] ?? env.SHOAL_AGENT_STATE_DIR ?? "/var/lib/shoal-agent",
    dockerSocket: values["docker-socket"] ?? env.DOCKER_SOCKET ?? "/var/run/docker.sock",
    addr: values.addr ?? env.SHOAL_AGENT_ADDR,
    machineId: values["machine-id"] ?? env.SHOAL_MACHINE_ID,
    hostname: values.hostname,
    resolvConf: values["resolv-conf"] ?? "/etc/resolv.conf",
    secretsDir: values["secrets-dir"] ?? env.SHOAL_AGENT_SECRETS_DIR,
    logFormat: values["log-format"] ?? env.SHOAL_LOG_FORMAT ?? "text",
    force: values.force,
  });
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `${i.path.join(".") || "command"}: ${i.message}`).join("\n"));
  if (parsed.data.command === "join" && (!parsed.data.url || !parsed.data.joinToken))
    throw new Error("join needs --url and a join token in SHOAL_JOIN_TOKEN or --token-file");
  return parsed.data;
}
