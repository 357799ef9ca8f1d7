import { randomUUID } from "node:crypto";
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { z } from "zod";

/**
 * The CLI config: named contexts (API URL, token, optional CA file) and the
 * current one, and the machines `shoal machine` provisioned (address, SSH user
 * and the path of the key, never the key itself). The Node control plane writes
 * it on first start (the local user is logged in); `shoal login` / `shoal context`
 * / `shoal machine` edit it. The file holds tokens: mode 0600, written atomically.
 */

const ContextSchema = z.object({ url: z.url(), token: z.string().min(1), caFile: z.string().optional() });
const MachineSchema = z.object({
  driver: z.literal("generic"),
  address: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  user: z.string().min(1),
  keyPath: z.string().optional(),
  /** The control plane the machine's agent joined, and its node. */
  url: z.string(),
  nodeId: z.string(),
  createdAt: z.string(),
});
const CliConfigSchema = z.object({
  currentContext: z.string(),
  contexts: z.record(z.string(), ContextSchema),
  machines: z.record(z.string(), MachineSchema).optional(),
});
export type CliContext = z.infer<typeof ContextSchema>;
export type MachineRecord = z.infer<typeof MachineSchema>;
export type CliConfig = z.infer<typeof CliConfigSchema>;

/** SHOAL_CONFIG, else $XDG_CONFIG_HOME/shoal/config.json, else ~/.config/shoal/config.json (HOME, else the user's home). */
export function cliConfigPath(env: NodeJS.ProcessEnv): string {
  return env.SHOAL_CONFIG || join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config"), "shoal", "config.json");
}

/** Reads the CLI config; a missing file is an empty config. */
export async function readCliConfig(path: string): Promise<CliConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { currentContext: "", contexts: {} };
    throw err;
  }
  const parsed = CliConfigSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${path} is not a shoal CLI config: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

async function writeCliConfig(path: string, config: CliConfig): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // Unique per write: two CLIs in one process (the tests) may write the same config.
  const tmp = `${path}.${randomUUID()}.tmp`;
  await writeFile(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

/** Stores a context and makes it current. */
export async function saveCliContext(path: string, name: string, context: CliContext): Promise<void> {
  const config = await readCliConfig(path);
  config.contexts[name] = context;
  config.currentContext = name;
  await writeCliConfig(path, config);
}

/** Makes a stored context current; false when there is none of that name. */
export async function useCliContext(path: string, name: string): Promise<boolean> {
  const config = await readCliConfig(path);
  if (!config.contexts[name]) return false;
  config.currentContext = name;
  await writeCliConfig(path, config);
  return true;
}

/** Forgets a context (and that it was current); false when there is none of that name. */
export async function removeCliContext(path: string, name: string): Promise<boolean> {
  const config = await readCliConfig(path);
  if (!config.contexts[name]) return false;
  delete config.contexts[name];
  if (config.currentContext === name) config.currentContext = "";
  await writeCliConfig(path, config);
  return true;
}

/** Known hosts of the machines' SSH servers: beside the config, so that the CLI's trust is its own. */
export const knownHostsPath = (configPath: string) => join(dirname(configPath), "known_hosts");

/** Edits the config's machines; calls are queued, so that parallel provisioning doesn't lose a write. */
let machineWrites: Promise<unknown> = Promise.resolve();
export function editMachines(path: string, edit: (machines: Record<string, MachineRecord>) => void): Promise<void> {
  const write = machineWrites.then(async () => {
    const config = await readCliConfig(path);
    const machines = { ...config.machines };
    edit(machines);
    await writeCliConfig(path, { ...config, machines });
  });
  machineWrites = write.catch(() => undefined);
  return write;
}

export interface Target {
  url: string;
  token: string;
  caFile?: string;
}

/**
 * Where the CLI talks to. The context is `--context`, else SHOAL_CONTEXT, else
 * the current one; SHOAL_URL, SHOAL_TOKEN and SHOAL_CA_FILE override its
 * fields one by one. A string explains what is missing.
 */
export function resolveTarget(config: CliConfig, env: NodeJS.ProcessEnv, contextFlag?: string): Target | string {
  const name = contextFlag || env.SHOAL_CONTEXT || config.currentContext;
  const context = name ? config.contexts[name] : undefined;
  if (name && !context && (contextFlag || env.SHOAL_CONTEXT)) return `no context named ${name}; see shoal context ls`;
  const url = env.SHOAL_URL || context?.url;
  const token = env.SHOAL_TOKEN || context?.token;
  const caFile = env.SHOAL_CA_FILE || context?.caFile;
  if (!url || !token)
    return "not logged in: run shoal login URL (the token on stdin), or set SHOAL_URL and SHOAL_TOKEN; npm start logs the local user in";
  return { url, token, ...(caFile ? { caFile } : {}) };
}
