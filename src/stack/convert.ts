import type { z } from "@hono/zod-openapi";
import type { ServiceSpecSchema } from "../protocol/service-spec-schema.js";
import type { StackIssue } from "./issues.js";
import type { StackResource, StackResourceKind } from "../domain/stack.js";
import { entriesToMapping, isMapping } from "./merge.js";
import { ShellWordsError, splitShellWords } from "../domain/shell-words.js";
import { EnvFileError, lookupIn, parseEnvFile } from "../domain/env-file.js";
import { quoted } from "../domain/limits.js";
import { parseBytes, parseDurationMs, parseNanoCpus } from "../domain/units.js";

/**
 * Converts a checked, merged compose document into service specs (the input
 * of the service spec schema, which then applies Swarm's defaults) and the
 * networks, volumes, secrets and configs the stack uses, as docker/cli's
 * `convert` package does for `docker stack deploy`.
 */

export type ServiceSpecInput = z.input<typeof ServiceSpecSchema>;

/** The label that marks what belongs to a stack (docker's name for it). */
export const stackNamespaceLabel = "com.docker.stack.namespace";
/** The image a stack's service was deployed with, on the service (docker's label). */
export const stackImageLabel = "com.docker.stack.image";

export interface ConvertedService {
  /** The key under `services:`. */
  key: string;
  spec: ServiceSpecInput;
}

export interface ConvertInput {
  stack: string;
  /** The caller's environment: values of `environment` entries left empty, and $HOME for `~`. */
  env: Record<string, string>;
  /** The directory relative bind mounts are relative to (the first compose file's). */
  workingDir?: string;
  /** Contents of the `env_file`s, by the path written in the file. */
  envFiles: Record<string, string>;
}

export interface ConvertResult {
  services: ConvertedService[];
  resources: StackResource[];
  errors: StackIssue[];
  warnings: string[];
}

type Doc = Record<string, unknown>;
const mapping = (v: unknown): Doc => (isMapping(v) ? v : {});
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === "string" ? [v] : []);
const scalarText = (v: unknown) => (v === null || v === undefined ? "" : String(v));
const stringMap = (v: unknown): Record<string, string> =>
  Object.fromEntries(Object.entries(entriesToMapping(v ?? {})).map(([k, val]) => [k, scalarText(val)]));

/** Resolves the cluster names of one kind of top-level object. */
function resources(stack: string, kind: StackResourceKind, section: unknown): Map<string, StackResource> {
  const out = new Map<string, StackResource>();
  for (const [key, raw] of Object.entries(mapping(section))) {
    const def = mapping(raw);
    const ext = def.external;
    const external = ext === true || isMapping(ext);
    const explicit = (isMapping(ext) && typeof ext.name === "string" ? ext.name : undefined) ?? (typeof def.name === "string" ? def.name : undefined);
    out.set(key, { kind, key, external, name: explicit ?? (external ? key : `${stack}_${key}`), definition: def });
  }
  return out;
}

function resolvePath(path: string, input: ConvertInput): string | undefined {
  const home = input.env.HOME;
  if (path === "~" || path.startsWith("~/")) return home ? `${home}${path.slice(1)}` : undefined;
  if (path.startsWith("/")) return normalize(path);
  return input.workingDir ? normalize(`${input.workingDir}/${path}`) : undefined;
}

function normalize(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/** Expands `a-b` port ranges; a single port is a range of one. */
function portRange(text: string): number[] | undefined {
  const match = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!match) return undefined;
  const start = Number(match[1]);
  const end = match[2] ? Number(match[2]) : start;
  if (end < start || end - start > 1000) return undefined;
  return Array.from({ length: end - start + 1 }, (_, i) => start + i);
}

type FileRefInput = NonNullable<ServiceSpecInput["task"]["secrets"]>[number];
type PortInput = NonNullable<NonNullable<ServiceSpecInput["endpoint"]>["ports"]>[number];
type MountInput = NonNullable<ServiceSpecInput["task"]["container"]["mounts"]>[number];

export function convertStack(doc: Doc, input: ConvertInput): ConvertResult {
  const { stack } = input;
  const errors: StackIssue[] = [];
  const warnings: string[] = [];
  const networks = resources(stack, "network", doc.networks);
  const volumes = resources(stack, "volume", doc.volumes);
  const secrets = resources(stack, "secret", doc.secrets);
  const configs = resources(stack, "config", doc.configs);
  const serviceDocs = mapping(doc.services);
  const attachedNetworks = new Set<StackResource>();
  const services: ConvertedService[] = [];

  for (const [key, raw] of Object.entries(serviceDocs)) {
    const s = mapping(raw);
    const at = `services.${key}`;
    const fail = (path: string, message: string) => errors.push({ path: `${at}.${path}`, message });
    const deploy = mapping(s.deploy);
    const namespace = { [stackNamespaceLabel]: stack };

    if (typeof s.image !== "string" || s.image === "")
      errors.push({ path: at, message: "no image: stacks run images, give one with image: (build is not supported)" });

    // --- environment: env files first, then environment over them ---
    const env = new Map<string, string>();
    strings(s.env_file).forEach((file, i) => {
      const text = input.envFiles[file];
      if (text === undefined) return fail(`env_file.${i}`, `the contents of ${file} were not sent with the stack (envFiles)`);
      try {
        for (const [k, v] of parseEnvFile(text, lookupIn(input.env))) env.set(k, v);
      } catch (err) {
        if (!(err instanceof EnvFileError)) throw err;
        fail(`env_file.${i}`, `${file}: ${err.message}`);
      }
    });
    for (const [k, v] of Object.entries(entriesToMapping(s.environment ?? {}))) {
      const value = v === null || v === undefined ? lookupIn(input.env)(k) : String(v);
      if (value !== undefined) env.set(k, value);
    }

    // --- command lines ---
    const words = (field: string): string[] => {
      const v = s[field];
      if (typeof v !== "string") return strings(v);
      try {
        return splitShellWords(v);
      } catch (err) {
        if (!(err instanceof ShellWordsError)) throw err;
        fail(field, err.message);
        return [];
      }
    };

    // --- mounts ---
    const mounts: MountInput[] = [];
    const namedVolume = (source: string, path: string): string | undefined => {
      const volume = volumes.get(source);
      if (!volume) {
        fail(path, `volume ${source} is not declared under the top-level volumes`);
        return undefined;
      }
      return volume.name;
    };
    const bindSource = (source: string, path: string): string | undefined => {
      const resolved = resolvePath(source, input);
      if (!resolved)
        fail(path, source.startsWith("~") ? `${source} needs HOME in the environment sent` : `relative path ${source} needs the compose file's directory (workingDir)`);
      return resolved;
    };
    (Array.isArray(s.volumes) ? s.volumes : []).forEach((v, i) => {
      const path = `volumes.${i}`;
      if (typeof v === "string") {
        const parts = v.split(":");
        if (parts.length > 3 || parts.some((p) => p === "")) return fail(path, `${quoted(v)} is not SOURCE:TARGET[:MODE] or TARGET`);
        const [source, target, mode = ""] = parts.length === 1 ? ["", parts[0]!] : (parts as [string, string, string?]);
        const modes = mode ? mode.split(",") : [];
        const unknownMode = modes.find((m) => !["ro", "rw", "z", "Z", "nocopy", "rprivate", "private", "rshared", "shared", "rslave", "slave", "cached", "delegated", "consistent"].includes(m));
        if (unknownMode) return fail(path, `unknown mode ${unknownMode}; ro or rw`);
        const readOnly = modes.includes("ro");
        if (source === "") return mounts.push({ type: "volume", source: "", target, readOnly });
        const isPath = /^[./~]/.test(source);
        const resolved = isPath ? bindSource(source, path) : namedVolume(source, path);
        if (resolved !== undefined) mounts.push({ type: isPath ? "bind" : "volume", source: resolved, target, readOnly });
        return;
      }
      const m = mapping(v);
      const type = (m.type as MountInput["type"]) ?? "volume";
      if (typeof m.target !== "string") return fail(`${path}.target`, "required: the path in the container");
      const source = typeof m.source === "string" ? m.source : "";
      let resolved: string | undefined = source;
      if (type === "volume" && source) resolved = namedVolume(source, `${path}.source`);
      if (type === "bind") resolved = source ? bindSource(source, `${path}.source`) : (fail(`${path}.source`, "required for a bind mount"), undefined);
      if (resolved === undefined) return;
      const size = isMapping(m.tmpfs) && m.tmpfs.size !== undefined ? parseBytes(m.tmpfs.size as string | number) : undefined;
      mounts.push({ type, source: resolved, target: m.target, readOnly: m.read_only === true, ...(size ? { tmpfsSizeBytes: size } : {}) });
    });
    for (const target of strings(s.tmpfs)) mounts.push({ type: "tmpfs", source: "", target });

    // --- ports ---
    const ports: PortInput[] = [];
    (Array.isArray(s.ports) ? s.ports : []).forEach((p, i) => {
      const path = `ports.${i}`;
      if (isMapping(p)) {
        const published = p.published === undefined ? undefined : Number(p.published);
        if (published !== undefined && !Number.isInteger(published)) return fail(`${path}.published`, `${quoted(p.published)} is not a port number`);
        return ports.push({
          targetPort: p.target as number,
          ...(published !== undefined ? { publishedPort: published } : {}),
          ...(p.protocol ? { protocol: p.protocol as PortInput["protocol"] } : {}),
          ...(p.mode ? { publishMode: p.mode as PortInput["publishMode"] } : {}),
        });
      }
      const text = String(p);
      const match = /^(?:(?:(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):)?(\d+(?:-\d+)?):)?(\d+(?:-\d+)?)(?:\/(tcp|udp|sctp))?$/.exec(text);
      const targets = match ? portRange(match[3]!) : undefined;
      const published = match?.[2] ? portRange(match[2]) : undefined;
      if (!match || !targets || (match[2] && (!published || published.length !== targets.length)))
        return fail(path, `${quoted(text)} is not a port like 80, 8080:80, 8080:80/udp or 8000-8001:80-81`);
      if (match[1]) warnings.push(`${at}.${path}: the host IP ${match[1]} is ignored; published ports listen on every address`);
      targets.forEach((targetPort, j) =>
        ports.push({
          targetPort,
          ...(published ? { publishedPort: published[j]! } : {}),
          ...(match[4] ? { protocol: match[4] as PortInput["protocol"] } : {}),
        }),
      );
    });

    // --- networks ---
    const attached = isMapping(s.networks) ? s.networks : Object.fromEntries(strings(s.networks).map((n) => [n, null]));
    const attachments = Object.entries(attached).flatMap(([name, opts]) => {
      let network = networks.get(name);
      if (!network && name === "default") {
        network = { kind: "network", key: "default", name: `${stack}_default`, external: false, definition: {} };
        networks.set("default", network);
      }
      if (!network) {
        fail(`networks.${name}`, `network ${name} is not declared under the top-level networks`);
        return [];
      }
      attachedNetworks.add(network);
      return [{ target: network.name, aliases: strings(mapping(opts).aliases) }];
    });
    if (Object.keys(attached).length === 0) {
      const network = networks.get("default") ?? { kind: "network", key: "default", name: `${stack}_default`, external: false, definition: {} };
      networks.set("default", network);
      attachedNetworks.add(network);
      attachments.push({ target: network.name, aliases: [] });
    }
    // Every service answers to its compose name on its networks, as in docker stack.
    for (const a of attachments) if (!a.aliases.includes(key)) a.aliases.unshift(key);

    // --- secrets and configs: references to the stack's (or external) objects, as docker/cli converts them ---
    const fileRefs = { secrets: [] as FileRefInput[], configs: [] as FileRefInput[] };
    for (const [field, declared] of [
      ["secrets", secrets],
      ["configs", configs],
    ] as const)
      (Array.isArray(s[field]) ? (s[field] as unknown[]) : []).forEach((ref, i) => {
        const long = mapping(ref);
        const source = isMapping(ref) ? ref.source : ref;
        const object = typeof source === "string" ? declared.get(source) : undefined;
        if (typeof source !== "string") return fail(`${field}.${i}.source`, `required: the name of a ${field.slice(0, -1)} under the top-level ${field}`);
        if (!object) return fail(`${field}.${i}`, `${field.slice(0, -1)} ${source} is not declared under the top-level ${field}`);
        const id = (which: "uid" | "gid") => {
          const v = long[which];
          if (v === undefined) return 0;
          if (typeof v === "string" && /^\d{1,10}$/.test(v)) return Number(v);
          fail(`${field}.${i}.${which}`, `a numeric ${which === "uid" ? "user" : "group"} id, like "1000", not ${JSON.stringify(v)}`);
          return 0;
        };
        // docker/cli: a secret's default target is its key (under /run/secrets), a config's /<key>.
        const target = typeof long.target === "string" && long.target !== "" ? long.target : field === "secrets" ? source : `/${source}`;
        fileRefs[field].push({ source: object.name, target, uid: id("uid"), gid: id("gid"), ...(typeof long.mode === "number" ? { mode: long.mode } : {}) });
      });

    // --- depends_on ---
    const dependencies = Object.keys(isMapping(s.depends_on) ? s.depends_on : Object.fromEntries(strings(s.depends_on).map((d) => [d, null])));
    for (const dep of dependencies) {
      if (!(dep in serviceDocs)) fail(`depends_on.${dep}`, `service ${dep} is not in the stack`);
      else if (dep === key) fail(`depends_on.${dep}`, "a service cannot depend on itself");
    }

    // --- healthcheck ---
    const hc = mapping(s.healthcheck);
    const duration = (v: unknown) => (typeof v === "string" ? parseDurationMs(v) : undefined);
    const healthcheck = s.healthcheck === undefined ? undefined : hc.disable === true ? { test: ["NONE"] } : {
      test: typeof hc.test === "string" ? ["CMD-SHELL", hc.test] : strings(hc.test),
      ...(duration(hc.interval) !== undefined ? { intervalMs: duration(hc.interval) } : {}),
      ...(duration(hc.timeout) !== undefined ? { timeoutMs: duration(hc.timeout) } : {}),
      ...(duration(hc.start_period) !== undefined ? { startPeriodMs: duration(hc.start_period) } : {}),
      ...(typeof hc.retries === "number" ? { retries: hc.retries } : {}),
    };
    if (s.healthcheck !== undefined && hc.disable !== true && hc.test === undefined) fail("healthcheck.test", "required unless disable: true");

    // --- deploy ---
    const placement = mapping(deploy.placement);
    const limits = mapping(mapping(deploy.resources).limits);
    const reservations = mapping(mapping(deploy.resources).reservations);
    const resources = (r: Doc) => ({
      ...(r.cpus !== undefined ? { nanoCpus: parseNanoCpus(r.cpus as string | number) } : {}),
      ...(r.memory !== undefined ? { memoryBytes: parseBytes(r.memory as string | number) } : {}),
      ...(r.pids !== undefined ? { pids: r.pids as number } : {}),
    });
    const restartPolicy = (): ServiceSpecInput["task"]["restartPolicy"] => {
      if (deploy.restart_policy !== undefined) {
        const r = mapping(deploy.restart_policy);
        return {
          ...(r.condition ? { condition: r.condition as "none" } : {}),
          ...(r.delay !== undefined ? { delayMs: duration(r.delay) } : {}),
          ...(r.max_attempts !== undefined ? { maxAttempts: r.max_attempts as number } : {}),
          ...(r.window !== undefined ? { windowMs: duration(r.window) } : {}),
        };
      }
      const fromRestart = { no: "none", always: "any", "unless-stopped": "any", "on-failure": "on-failure" } as const;
      return typeof s.restart === "string" ? { condition: fromRestart[s.restart as keyof typeof fromRestart] } : {};
    };
    const updateConfig = (v: unknown) => {
      const u = mapping(v);
      return {
        ...(u.parallelism !== undefined ? { parallelism: u.parallelism as number } : {}),
        ...(u.delay !== undefined ? { delayMs: duration(u.delay) } : {}),
        ...(u.failure_action ? { failureAction: u.failure_action as "pause" } : {}),
        ...(u.monitor !== undefined ? { monitorMs: duration(u.monitor) } : {}),
        ...(u.max_failure_ratio !== undefined ? { maxFailureRatio: u.max_failure_ratio as number } : {}),
        ...(u.order ? { order: u.order as "stop-first" } : {}),
      };
    };
    const logging = mapping(s.logging);
    const hosts = Object.entries(entriesToMapping(s.extra_hosts ?? {}, ":")).map(([host, ip]) => `${scalarText(ip)} ${host}`);

    const spec: ServiceSpecInput = {
      name: `${stack}_${key}`,
      // docker stack deploy records the image as the file gives it, to tell on a redeploy whether it changed.
      labels: { ...stringMap(deploy.labels), ...namespace, ...(typeof s.image === "string" ? { [stackImageLabel]: s.image } : {}) },
      ...(deploy.mode ? { mode: deploy.mode as ServiceSpecInput["mode"] } : {}),
      ...(deploy.replicas !== undefined ? { replicas: deploy.replicas as number } : {}),
      // docker stack: a replicated job runs `replicas` tasks at once, `replicas` in all.
      ...(deploy.mode === "replicated-job" && deploy.replicas !== undefined ? { maxConcurrent: deploy.replicas as number } : {}),
      ...(dependencies.length ? { dependsOn: dependencies.map((d) => `${stack}_${d}`) } : {}),
      task: {
        container: {
          image: typeof s.image === "string" ? s.image : "",
          command: words("entrypoint"),
          args: words("command"),
          env: [...env].map(([k, v]) => `${k}=${v}`),
          labels: { ...stringMap(s.labels), ...namespace },
          ...(s.user !== undefined ? { user: String(s.user) } : {}),
          ...(typeof s.working_dir === "string" ? { workdir: s.working_dir } : {}),
          ...(typeof s.hostname === "string" ? { hostname: s.hostname } : {}),
          mounts,
          ...(healthcheck ? { healthcheck } : {}),
          ...(s.stop_grace_period !== undefined ? { stopGracePeriodMs: duration(s.stop_grace_period) } : {}),
          ...(typeof s.stop_signal === "string" ? { stopSignal: s.stop_signal } : {}),
          ...(typeof s.init === "boolean" ? { init: s.init } : {}),
          ...(typeof s.tty === "boolean" ? { tty: s.tty } : {}),
          ...(typeof s.read_only === "boolean" ? { readOnly: s.read_only } : {}),
          capAdd: strings(s.cap_add),
          capDrop: strings(s.cap_drop),
          dns: { nameservers: strings(s.dns), search: strings(s.dns_search), options: strings(s.dns_opt) },
          hosts,
        },
        resources: { limits: resources(limits), reservations: resources(reservations) },
        restartPolicy: restartPolicy(),
        placement: {
          constraints: strings(placement.constraints),
          preferences: (Array.isArray(placement.preferences) ? placement.preferences : []).map((p) => ({ spread: String(mapping(p).spread) })),
          ...(placement.max_replicas_per_node !== undefined ? { maxReplicasPerNode: placement.max_replicas_per_node as number } : {}),
        },
        networks: attachments,
        secrets: fileRefs.secrets,
        configs: fileRefs.configs,
        ...(typeof logging.driver === "string"
          ? { logDriver: { name: logging.driver, options: stringMap(logging.options) } }
          : {}),
      },
      endpoint: { ...(deploy.endpoint_mode ? { mode: deploy.endpoint_mode as "vip" } : {}), ports },
      update: updateConfig(deploy.update_config),
      rollback: updateConfig(deploy.rollback_config) as ServiceSpecInput["rollback"],
    };
    services.push({ key, spec });
  }

  errors.push(...dependencyCycles(serviceDocs));
  const usedNetworks = [...networks.values()].filter((n) => attachedNetworks.has(n));
  return { services, resources: [...usedNetworks, ...volumes.values(), ...secrets.values(), ...configs.values()], errors, warnings };
}

/** depends_on must not loop: the services of a cycle would wait for each other forever. */
function dependencyCycles(serviceDocs: Doc): StackIssue[] {
  const edges = new Map(
    Object.entries(serviceDocs).map(([key, s]) => {
      const d = mapping(s).depends_on;
      return [key, Object.keys(isMapping(d) ? d : Object.fromEntries(strings(d).map((n) => [n, null]))).filter((n) => n in serviceDocs && n !== key)];
    }),
  );
  const state = new Map<string, "visiting" | "done">();
  const issues: StackIssue[] = [];
  const visit = (key: string, trail: string[]) => {
    if (state.get(key) === "done") return;
    if (state.get(key) === "visiting") {
      const cycle = [...trail.slice(trail.indexOf(key)), key];
      issues.push({ path: `services.${key}.depends_on`, message: `dependency cycle: ${cycle.join(" → ")}` });
      return;
    }
    state.set(key, "visiting");
    for (const next of edges.get(key) ?? []) visit(next, [...trail, key]);
    state.set(key, "done");
  };
  for (const key of edges.keys()) visit(key, []);
  return issues;
}
