import { EnvFileError, parseEnvFile, passThrough } from "../domain/env-file.js";
import type { ServiceSpec } from "../domain/service-spec.js";
import { ShellWordsError, splitShellWords } from "../domain/shell-words.js";
import { UsageError, parseCount, parseDurationMs, parseMemoryBytes, parseNanoCpus } from "./format/units.js";

/**
 * `docker service create` / `update` flags → the API's ServiceSpec. One table
 * of flags serves both commands: create sets them on an empty body (the API
 * applies Swarm's defaults), update on the current spec; list flags are
 * `--x` on create and `--x-add` / `--x-rm` on update. Pure.
 */

/** A spec being built: the API's ServiceSpec shape, any part possibly missing. */
export type SpecDraft = Record<string, unknown>;
/** Option values keyed by commander's attribute names (`--restart-delay` → restartDelay). */
export type FlagValues = Record<string, unknown>;

type Path = readonly string[];

/** The object at `path`, created when missing. */
function objectAt(spec: SpecDraft, path: Path): Record<string, unknown> {
  let at = spec;
  for (const key of path) {
    if (typeof at[key] !== "object" || at[key] === null) at[key] = {};
    at = at[key] as Record<string, unknown>;
  }
  return at;
}

function setAt(spec: SpecDraft, path: Path, value: unknown) {
  objectAt(spec, path.slice(0, -1))[path.at(-1)!] = value;
}

function getAt(spec: SpecDraft, path: Path): unknown {
  let at: unknown = spec;
  for (const key of path) at = at && typeof at === "object" ? (at as Record<string, unknown>)[key] : undefined;
  return at;
}

/** One of a fixed set of words. */
const oneOf =
  (...values: string[]) =>
  (s: string) => {
    if (!values.includes(s)) throw new UsageError(`"${s}" is not one of ${values.join(", ")}`);
    return s;
  };

const ratio = (s: string) => {
  const n = Number(s);
  if (s.trim() === "" || !Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`"${s}" is not a fraction from 0 to 1`);
  return n;
};

/** `--network` as docker takes it: `NAME`, or `name=NAME,alias=A,alias=B` (also `NAME,alias=A`). */
export function parseNetwork(raw: string): { target: string; aliases: string[] } {
  let target = "";
  const aliases: string[] = [];
  raw.split(",").forEach((part, i) => {
    const at = part.indexOf("=");
    if (at < 0 && i === 0) target = part;
    else if (at > 0 && ["name", "target"].includes(part.slice(0, at))) target = part.slice(at + 1);
    else if (at > 0 && part.slice(0, at) === "alias") aliases.push(part.slice(at + 1));
    else throw new UsageError(`"${part}": network options are name=, alias=`);
  });
  if (!target) throw new UsageError(`"${raw}" names no network`);
  return { target, aliases };
}

interface FileReferenceFlag {
  source: string;
  target?: string;
  uid?: number;
  gid?: number;
  mode?: number;
}

/** `--secret` / `--config` as docker takes them: `NAME`, or `source=NAME,target=PATH,uid=0,gid=0,mode=0400` (mode in octal). */
export function parseFileReference(kind: "secret" | "config") {
  return (raw: string): FileReferenceFlag => {
    const ref: FileReferenceFlag = { source: "" };
    const id = (key: string, v: string) => {
      if (!/^\d+$/.test(v)) throw new UsageError(`${key}=${v}: a numeric id`);
      return Number(v);
    };
    raw.split(",").forEach((part, i) => {
      const at = part.indexOf("=");
      const key = at > 0 ? part.slice(0, at) : "";
      const v = part.slice(at + 1);
      if (at < 0 && i === 0) ref.source = part;
      else if (key === "source" || key === "src") ref.source = v;
      else if (key === "target") ref.target = v;
      else if (key === "uid" || key === "gid") ref[key] = id(key, v);
      else if (key === "mode") {
        if (!/^[0-7]{1,4}$/.test(v)) throw new UsageError(`mode=${v}: file permission bits in octal, like 0400`);
        ref.mode = parseInt(v, 8);
      } else throw new UsageError(`"${part}": ${kind} options are source=, target=, uid=, gid=, mode=`);
    });
    if (!ref.source) throw new UsageError(`"${raw}" names no ${kind}`);
    return ref;
  };
}

/** A command-line flag value split into words as docker splits `--entrypoint`. */
export function shellSplit(line: string): string[] {
  try {
    return splitShellWords(line);
  } catch (err) {
    if (err instanceof ShellWordsError) throw new UsageError(`${err.message} in: ${line}`);
    throw err;
  }
}

interface Scalar {
  kind: "scalar";
  /** commander's flag syntax, e.g. "--restart-delay <duration>". */
  flags: string;
  help: string;
  apply: (spec: SpecDraft, raw: string) => void;
}

interface Toggle {
  kind: "toggle";
  name: string;
  short?: string;
  help: string;
  path: Path;
}

interface List<T> {
  kind: "list";
  /** The create flag; update has `--NAME-add` and `--NAME-rm`. */
  name: string;
  short?: string;
  arg: string;
  help: string;
  path: Path;
  parse: (raw: string) => T;
  /** `--NAME-rm` value → whether an entry goes. */
  removes: (raw: string) => (entry: T) => boolean;
}

interface MapFlag {
  kind: "map";
  name: string;
  short?: string;
  help: string;
  path: Path;
}

type Flag = Scalar | Toggle | List<any> | MapFlag;

const scalar = <T>(flags: string, help: string, path: Path, parse: (s: string) => T): Scalar => ({
  kind: "scalar",
  flags,
  help,
  apply: (spec, raw) => setAt(spec, path, parse(raw)),
});

const strings = (name: string, arg: string, help: string, path: Path, short?: string): List<string> => ({
  kind: "list",
  name,
  arg,
  help,
  path,
  parse: (s) => s,
  removes: (raw) => (entry) => entry === raw,
  ...(short ? { short } : {}),
});

function updateFlags(kind: "update" | "rollback"): Scalar[] {
  const path = [kind];
  const what = kind === "update" ? "update" : "rollback";
  return [
    scalar(`--${kind}-parallelism <n>`, `Maximum number of tasks ${kind === "update" ? "updated" : "rolled back"} at once (0 = all)`, [...path, "parallelism"], parseCount),
    scalar(`--${kind}-delay <duration>`, `Delay between ${what}s (ns|us|ms|s|m|h)`, [...path, "delayMs"], parseDurationMs),
    scalar(
      `--${kind}-failure-action <action>`,
      `Action on ${what} failure (${kind === "update" ? '"pause", "continue", "rollback"' : '"pause", "continue"'})`,
      [...path, "failureAction"],
      kind === "update" ? oneOf("pause", "continue", "rollback") : oneOf("pause", "continue"),
    ),
    scalar(`--${kind}-monitor <duration>`, `Duration after each task ${what} to monitor for failure (ns|us|ms|s|m|h)`, [...path, "monitorMs"], parseDurationMs),
    scalar(`--${kind}-max-failure-ratio <ratio>`, `Failure rate to tolerate during an ${what}`, [...path, "maxFailureRatio"], ratio),
    scalar(`--${kind}-order <order>`, `${kind === "update" ? "Update" : "Rollback"} order ("start-first", "stop-first")`, [...path, "order"], oneOf("start-first", "stop-first")),
  ];
}

const container = ["task", "container"];
const health = [...container, "healthcheck"];

/** Flags with the same meaning on create and update. */
const sharedFlags: Flag[] = [
  scalar("--replicas <n>", "Number of tasks (replicated: running; replicated-job: completions)", ["replicas"], parseCount),
  scalar("--max-concurrent <n>", "Number of job tasks to run concurrently (replicated-job)", ["maxConcurrent"], parseCount),
  scalar("--replicas-max-per-node <n>", "Maximum number of tasks per node (0 = unlimited)", ["task", "placement", "maxReplicasPerNode"], parseCount),
  scalar("--reserve-cpu <cpus>", "Reserve CPUs", ["task", "resources", "reservations", "nanoCpus"], parseNanoCpus),
  scalar("--reserve-memory <bytes>", "Reserve Memory", ["task", "resources", "reservations", "memoryBytes"], parseMemoryBytes),
  scalar("--limit-cpu <cpus>", "Limit CPUs", ["task", "resources", "limits", "nanoCpus"], parseNanoCpus),
  scalar("--limit-memory <bytes>", "Limit Memory", ["task", "resources", "limits", "memoryBytes"], parseMemoryBytes),
  scalar("--limit-pids <n>", "Limit maximum number of processes (0 = unlimited)", ["task", "resources", "limits", "pids"], parseCount),
  scalar("--restart-condition <condition>", 'Restart when condition is met ("none", "on-failure", "any")', ["task", "restartPolicy", "condition"], oneOf("none", "on-failure", "any")),
  scalar("--restart-delay <duration>", "Delay between restart attempts (ns|us|ms|s|m|h)", ["task", "restartPolicy", "delayMs"], parseDurationMs),
  scalar("--restart-max-attempts <n>", "Maximum number of restarts before giving up (0 = unlimited)", ["task", "restartPolicy", "maxAttempts"], parseCount),
  scalar("--restart-window <duration>", "Window used to evaluate the restart policy (ns|us|ms|s|m|h)", ["task", "restartPolicy", "windowMs"], parseDurationMs),
  ...updateFlags("update"),
  ...updateFlags("rollback"),
  {
    kind: "scalar",
    flags: "--health-cmd <command>",
    help: "Command to run to check health (run by the container's shell)",
    apply: (spec, raw) => setAt(spec, [...health, "test"], ["CMD-SHELL", raw]),
  },
  scalar("--health-interval <duration>", "Time between running the check (ms|s|m|h)", [...health, "intervalMs"], parseDurationMs),
  scalar("--health-timeout <duration>", "Maximum time to allow one check to run (ms|s|m|h)", [...health, "timeoutMs"], parseDurationMs),
  scalar("--health-retries <n>", "Consecutive failures needed to report unhealthy", [...health, "retries"], parseCount),
  scalar("--health-start-period <duration>", "Start period for the container to initialize before counting retries towards unstable (ms|s|m|h)", [...health, "startPeriodMs"], parseDurationMs),
  scalar("--endpoint-mode <mode>", 'Endpoint mode ("vip", "dnsrr")', ["endpoint", "mode"], oneOf("vip", "dnsrr")),
  scalar("--entrypoint <command>", "Overwrite the default ENTRYPOINT of the image", [...container, "command"], shellSplit),
  scalar("-w, --workdir <dir>", "Working directory inside the container", [...container, "workdir"], (s) => s),
  scalar("-u, --user <user>", "Username or UID (format: <name|uid>[:<group|gid>])", [...container, "user"], (s) => s),
  scalar("--hostname <name>", "Container hostname", [...container, "hostname"], (s) => s),
  scalar("--stop-grace-period <duration>", "Time to wait before force killing a container (ns|us|ms|s|m|h)", [...container, "stopGracePeriodMs"], parseDurationMs),
  scalar("--stop-signal <signal>", "Signal to stop the container", [...container, "stopSignal"], (s) => s),
  scalar("--strategy <strategy>", 'Scheduling strategy ("spread", "binpack", "random"; shoal)', ["task", "strategy"], oneOf("spread", "binpack", "random")),
  { kind: "toggle", name: "init", help: "Use an init inside each service container to forward signals and reap processes", path: [...container, "init"] },
  { kind: "toggle", name: "read-only", help: "Mount the container's root filesystem as read only", path: [...container, "readOnly"] },
  { kind: "toggle", name: "tty", short: "t", help: "Allocate a pseudo-TTY", path: [...container, "tty"] },
  strings("constraint", "<expr>", "Placement constraints", ["task", "placement", "constraints"]),
  {
    kind: "list",
    name: "placement-pref",
    arg: "<pref>",
    help: "Placement preference (spread=node.labels.X)",
    path: ["task", "placement", "preferences"],
    parse: (s: string) => {
      const m = /^spread=(.+)$/.exec(s);
      if (!m) throw new UsageError(`"${s}" is not a placement preference: write spread=node.labels.<name>`);
      return { spread: m[1]! };
    },
    removes: (raw: string) => (p: { spread: string }) => `spread=${p.spread}` === raw || p.spread === raw,
  } satisfies List<{ spread: string }>,
  {
    kind: "list",
    name: "publish",
    short: "p",
    arg: "<port>",
    help: "Publish a port as a node port (8080:80[/udp], or published=8080,target=80,protocol=udp,mode=host)",
    path: ["endpoint", "ports"],
    parse: parsePort,
    removes: (raw: string) => {
      const [target, protocol] = raw.split("/");
      return (p: { targetPort: number; protocol?: string }) => String(p.targetPort) === target && (!protocol || (p.protocol ?? "tcp") === protocol);
    },
  } satisfies List<ReturnType<typeof parsePort>>,
  {
    kind: "list",
    name: "network",
    arg: "<network>",
    help: "Network attachments (NAME[,alias=A…], or name=NAME,alias=A)",
    path: ["task", "networks"],
    parse: parseNetwork,
    removes: (raw: string) => (n: { target: string }) => n.target === raw,
  } satisfies List<{ target: string; aliases: string[] }>,
  ...(["secret", "config"] as const).map(
    (kind) =>
      ({
        kind: "list",
        name: kind,
        arg: `<${kind}>`,
        help: `Specify ${kind}s to expose to the service (NAME, or source=NAME,target=PATH,uid=,gid=,mode=0444)`,
        path: ["task", `${kind}s`],
        parse: parseFileReference(kind),
        // docker's --secret-rm names the secret, by name or id.
        removes: (raw: string) => (r: { source: string; id?: string }) => r.source === raw || r.id === raw,
      }) satisfies List<FileReferenceFlag>,
  ),
  {
    kind: "list",
    name: "mount",
    arg: "<mount>",
    help: "Attach a filesystem mount to the service (type=bind|volume|tmpfs,source=,target=,readonly)",
    path: [...container, "mounts"],
    parse: parseMount,
    removes: (raw: string) => (m: { target: string }) => m.target === raw,
  } satisfies List<ReturnType<typeof parseMount>>,
  {
    kind: "list",
    name: "env",
    short: "e",
    arg: "<KEY=value>",
    help: "Set environment variables",
    path: [...container, "env"],
    parse: parseEnv,
    removes: (raw: string) => (e: string) => e.split("=")[0] === raw.split("=")[0],
  } satisfies List<string>,
  { kind: "map", name: "label", short: "l", help: "Service labels", path: ["labels"] },
  { kind: "map", name: "container-label", help: "Container labels", path: [...container, "labels"] },
  strings("dns", "<ip>", "Set custom DNS servers", [...container, "dns", "nameservers"]),
  strings("dns-search", "<domain>", "Set custom DNS search domains", [...container, "dns", "search"]),
  strings("dns-option", "<option>", "Set DNS options", [...container, "dns", "options"]),
  {
    kind: "list",
    name: "host",
    arg: "<host:ip>",
    help: "Set one or more custom host-to-IP mappings (host:ip)",
    path: [...container, "hosts"],
    parse: (s: string) => {
      const at = s.indexOf(":");
      if (at <= 0 || at === s.length - 1) throw new UsageError(`"${s}" is not a host mapping: write host:ip`);
      return `${s.slice(at + 1)} ${s.slice(0, at)}`;
    },
    removes: (raw: string) => (h: string) => h.split(/\s+/).slice(1).includes(raw.split(":")[0]!),
  } satisfies List<string>,
];

/** Publish flag: docker's short (8080:80/udp, 80) and long (published=,target=,protocol=,mode=) forms. */
export function parsePort(s: string): { targetPort: number; publishedPort?: number; protocol?: string; publishMode?: string } {
  const port = (v: string | undefined, what: string) => {
    if (!v || !/^\d+$/.test(v)) throw new UsageError(`"${s}": ${what} is not a port number`);
    return Number(v);
  };
  if (s.includes("=")) {
    const fields = keyValues(s, ["published", "target", "protocol", "mode"], "port");
    return {
      targetPort: port(fields.target, "target"),
      ...(fields.published !== undefined ? { publishedPort: port(fields.published, "published") } : {}),
      ...(fields.protocol !== undefined ? { protocol: oneOf("tcp", "udp", "sctp")(fields.protocol) } : {}),
      ...(fields.mode !== undefined ? { publishMode: oneOf("ingress", "host")(fields.mode) } : {}),
    };
  }
  const m = /^(?:(\d+):)?(\d+)(?:\/(\w+))?$/.exec(s);
  if (!m) throw new UsageError(`"${s}" is not a port: write published:target[/protocol], like 8080:80 or 53:53/udp`);
  return {
    targetPort: port(m[2], "target"),
    ...(m[1] ? { publishedPort: port(m[1], "published") } : {}),
    ...(m[3] ? { protocol: oneOf("tcp", "udp", "sctp")(m[3]) } : {}),
  };
}

/** Mount flag: type=,source|src=,target|dst|destination=,readonly|ro[=true|false],tmpfs-size=. */
export function parseMount(s: string) {
  const fields = keyValues(s, ["type", "source", "src", "target", "dst", "destination", "readonly", "ro", "tmpfs-size"], "mount", ["readonly", "ro"]);
  const target = fields.target ?? fields.dst ?? fields.destination;
  if (!target) throw new UsageError(`"${s}": a mount needs target=<path in the container>`);
  const ro = fields.readonly ?? fields.ro;
  if (ro !== undefined && !["", "true", "false", "1", "0"].includes(ro)) throw new UsageError(`"${s}": readonly is true or false`);
  const source = fields.source ?? fields.src;
  return {
    type: oneOf("bind", "volume", "tmpfs")(fields.type ?? "volume"),
    target,
    ...(source !== undefined ? { source } : {}),
    ...(ro !== undefined ? { readOnly: ro === "" || ro === "true" || ro === "1" } : {}),
    ...(fields["tmpfs-size"] !== undefined ? { tmpfsSizeBytes: parseMemoryBytes(fields["tmpfs-size"]) } : {}),
  };
}

function keyValues(s: string, allowed: string[], what: string, bare: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of s.split(",")) {
    const at = part.indexOf("=");
    const key = (at === -1 ? part : part.slice(0, at)).trim();
    if (!allowed.includes(key)) throw new UsageError(`"${s}": unknown ${what} field "${key}"; allowed: ${allowed.join(", ")}`);
    if (at === -1 && !bare.includes(key)) throw new UsageError(`"${s}": ${key} needs a value (${key}=…)`);
    out[key] = at === -1 ? "" : part.slice(at + 1);
  }
  return out;
}

const fromProcess = (name: string) => process.env[name];

/**
 * KEY=value, or KEY alone to take the value from this environment. Unset, it
 * is a usage error here (docker would pass the name on and the container
 * would not have it); in an env file it is left out, as docker does.
 */
function parseEnv(s: string): string {
  if (s.includes("=")) return s;
  const entry = passThrough(s, fromProcess);
  if (!entry) throw new UsageError(`environment variable ${s} is not set here; write ${s}=value`);
  return entry.join("=");
}

/** `--env-file` contents as docker reads them. */
function parseEnvFileFlag(text: string, index: number): string[] {
  try {
    return parseEnvFile(text, fromProcess).map((entry) => entry.join("="));
  } catch (err) {
    if (err instanceof EnvFileError) throw new UsageError(`invalid argument for --env-file (file ${index + 1}): ${err.message}`);
    throw err;
  }
}

/** `key=value` (or a bare `key`, value "") of a --label flag. */
export const parseLabel = (s: string): [string, string] => {
  const at = s.indexOf("=");
  return at === -1 ? [s, ""] : [s.slice(0, at), s.slice(at + 1)];
};

/** What a command registers, in commander's terms. */
export interface OptionDef {
  flags: string;
  help: string;
  repeatable: boolean;
}

/** commander's attribute name for a flag ("--restart-delay" → restartDelay, "--no-init" → init). */
const attributeName = (name: string) => name.replace(/^no-/, "").replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

const shortPrefix = (f: { short?: string }) => (f.short ? `-${f.short}, ` : "");

export function serviceOptionDefs(command: "create" | "update"): OptionDef[] {
  return sharedFlags.flatMap((f): OptionDef[] => {
    switch (f.kind) {
      case "scalar":
        return [{ flags: f.flags, help: f.help, repeatable: false }];
      case "toggle":
        return command === "create"
          ? [{ flags: `${shortPrefix(f)}--${f.name}`, help: f.help, repeatable: false }]
          : [
              { flags: `${shortPrefix(f)}--${f.name}`, help: f.help, repeatable: false },
              { flags: `--no-${f.name}`, help: `Undo --${f.name}`, repeatable: false },
            ];
      case "list":
      case "map": {
        const arg = f.kind === "list" ? f.arg : "<key=value>";
        if (command === "create") return [{ flags: `${shortPrefix(f)}--${f.name} ${arg}`, help: f.help, repeatable: true }];
        return [
          { flags: `--${f.name}-add ${arg}`, help: `Add or update: ${f.help.toLowerCase()}`, repeatable: true },
          { flags: `--${f.name}-rm ${f.kind === "map" ? "<key>" : arg}`, help: `Remove: ${f.help.toLowerCase()}`, repeatable: true },
        ];
      }
    }
  });
}

const asList = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : []);

/** Applies scalar, toggle and map flags; lists are applied by the callers (create and update differ). */
function applyCommon(spec: SpecDraft, values: FlagValues, command: "create" | "update") {
  for (const f of sharedFlags) {
    if (f.kind === "scalar") {
      const name = /--([a-z-]+)/.exec(f.flags)![1]!;
      const raw = values[attributeName(name)];
      if (typeof raw === "string") {
        try {
          f.apply(spec, raw);
        } catch (err) {
          if (err instanceof UsageError) throw new UsageError(`invalid argument for --${name}: ${err.message}`);
          throw err;
        }
      }
    } else if (f.kind === "toggle") {
      const v = values[attributeName(f.name)];
      if (typeof v === "boolean") setAt(spec, f.path, v);
    } else if (f.kind === "map") {
      const adds = asList(values[attributeName(command === "create" ? f.name : `${f.name}-add`)]).map(parseLabel);
      const removes = command === "update" ? asList(values[attributeName(`${f.name}-rm`)]) : [];
      if (adds.length === 0 && removes.length === 0) continue;
      const labels = { ...(getAt(spec, f.path) as Record<string, string> | undefined) };
      for (const key of removes) delete labels[key];
      for (const [k, v] of adds) labels[k] = v;
      setAt(spec, f.path, labels);
    }
  }
  // --no-healthcheck (commander: healthcheck === false) disables the image's healthcheck.
  if (values.healthcheck === false) {
    if (typeof values.healthCmd === "string") throw new UsageError("--no-healthcheck conflicts with --health-cmd");
    setAt(spec, health, { test: ["NONE"] });
  }
}

function parseEach<T>(f: List<T>, raws: string[], flag: string): T[] {
  return raws.map((raw) => {
    try {
      return f.parse(raw);
    } catch (err) {
      if (err instanceof UsageError) throw new UsageError(`invalid argument for --${flag}: ${err.message}`);
      throw err;
    }
  });
}

/** `service create IMAGE [ARG…]` with its flags → the request body (the API fills in the defaults). */
export function buildServiceSpec(image: string, args: string[], values: FlagValues, envFiles: string[] = []): SpecDraft {
  const spec: SpecDraft = {};
  if (typeof values.name === "string") spec.name = values.name;
  if (typeof values.mode === "string") spec.mode = oneOf("replicated", "global", "replicated-job", "global-job")(values.mode);
  setAt(spec, [...container, "image"], image);
  if (args.length > 0) setAt(spec, [...container, "args"], args);
  applyCommon(spec, values, "create");
  for (const f of sharedFlags) {
    if (f.kind !== "list") continue;
    const items = parseEach(f, asList(values[attributeName(f.name)]), f.name);
    const all = f.name === "env" ? [...envFiles.flatMap(parseEnvFileFlag), ...items] : items;
    if (all.length > 0) setAt(spec, f.path, all);
  }
  for (const [name, path] of [
    ["capAdd", [...container, "capAdd"]],
    ["capDrop", [...container, "capDrop"]],
  ] as const) {
    const caps = asList(values[name]);
    if (caps.length > 0) setAt(spec, path, caps);
  }
  return spec;
}

/** `service update` flags applied to the current spec → the spec to PUT. */
export function applyServiceUpdate(current: ServiceSpec, values: FlagValues): ServiceSpec {
  const spec = structuredClone(current) as unknown as SpecDraft;
  if (typeof values.image === "string") setAt(spec, [...container, "image"], values.image);
  if (typeof values.args === "string") setAt(spec, [...container, "args"], shellSplit(values.args));
  applyCommon(spec, values, "update");
  for (const f of sharedFlags) {
    if (f.kind !== "list") continue;
    const removes = asList(values[attributeName(`${f.name}-rm`)]).map((r) => f.removes(r));
    const adds = parseEach(f, asList(values[attributeName(`${f.name}-add`)]), `${f.name}-add`);
    if (removes.length === 0 && adds.length === 0) continue;
    const kept = ((getAt(spec, f.path) as unknown[] | undefined) ?? []).filter((e) => !removes.some((r) => r(e)));
    // An added entry replaces one the same --x-rm value would remove (same key, target or port).
    const replaced = kept.filter((e) => !adds.some((a) => f.removes(keyOf(f.name, a))(e)));
    setAt(spec, f.path, [...replaced, ...adds]);
  }
  // --cap-add X also takes X off the dropped list, and the other way round (docker's update).
  const capAdd = asList(values.capAdd);
  const capDrop = asList(values.capDrop);
  if (capAdd.length || capDrop.length) {
    const c = objectAt(spec, container) as { capAdd?: string[]; capDrop?: string[] };
    c.capAdd = [...new Set([...(c.capAdd ?? []).filter((x) => !capDrop.includes(x)), ...capAdd])];
    c.capDrop = [...new Set([...(c.capDrop ?? []).filter((x) => !capAdd.includes(x)), ...capDrop])];
  }
  if (values.force === true) {
    const task = objectAt(spec, ["task"]);
    task.forceUpdate = Number(task.forceUpdate ?? 0) + 1;
  }
  return spec as unknown as ServiceSpec;
}

/** The `--x-rm` value that names an entry, so `--x-add` replaces rather than duplicates. */
function keyOf(name: string, entry: unknown): string {
  switch (name) {
    case "publish": {
      const p = entry as { targetPort: number; protocol?: string };
      return `${p.targetPort}/${p.protocol ?? "tcp"}`;
    }
    case "network":
    case "mount":
      return (entry as { target: string }).target;
    case "secret":
    case "config":
      return (entry as { source: string }).source;
    case "placement-pref":
      return `spread=${(entry as { spread: string }).spread}`;
    case "env":
      return (entry as string).split("=")[0]!;
    case "host":
      return (entry as string).split(/\s+/)[1]!;
    default:
      return entry as string;
  }
}
