import { ServiceSpecSchema } from "../protocol/service-spec-schema.js";
import type { ServiceSpec } from "../domain/service-spec.js";
import { composeShape } from "./compose-schema.js";
import { convertStack } from "./convert.js";
import type { StackResource } from "../domain/stack.js";
import { maxReportedIssues } from "../domain/limits.js";
import { interpolate } from "./interpolate.js";
import type { StackIssue } from "./issues.js";
import { mergeComposeFiles } from "./merge.js";
import { readYaml } from "./read-yaml.js";
import { check, type CheckResult } from "./shape.js";

/**
 * Turns compose files into a stack: parse (YAML), check the version,
 * interpolate with the caller's environment, check against the compose
 * format, merge the files in order, convert, and validate every service spec
 * with the same schema as `POST /v1/services`. Pure: the API calls it with
 * the files' text, and it runs on Workers as on Node.
 */

export interface StackInput {
  stack: string;
  /** The compose files' contents, in the order given (`-c a.yml -c b.yml`). */
  files: string[];
  env: Record<string, string>;
  workingDir?: string;
  envFiles?: Record<string, string>;
}

export interface LoadedStack {
  services: { key: string; spec: ServiceSpec }[];
  resources: StackResource[];
  warnings: string[];
}

export type LoadResult = ({ ok: true } & LoadedStack) | { ok: false; errors: StackIssue[]; warnings: string[] };

/** Where a service spec field came from in the service's compose definition. */
const specToCompose: [string, string][] = [
  ["task.container.image", "image"],
  ["task.container.command", "entrypoint"],
  ["task.container.args", "command"],
  ["task.container.env", "environment"],
  ["task.container.labels", "labels"],
  ["task.container.user", "user"],
  ["task.container.workdir", "working_dir"],
  ["task.container.hostname", "hostname"],
  ["task.container.mounts", "volumes"],
  ["task.container.healthcheck.test", "healthcheck.test"],
  ["task.container.healthcheck", "healthcheck"],
  ["task.container.stopGracePeriodMs", "stop_grace_period"],
  ["task.container.stopSignal", "stop_signal"],
  ["task.container.capAdd", "cap_add"],
  ["task.container.capDrop", "cap_drop"],
  ["task.container.dns.nameservers", "dns"],
  ["task.container.dns.search", "dns_search"],
  ["task.container.dns.options", "dns_opt"],
  ["task.container.hosts", "extra_hosts"],
  ["task.logDriver", "logging"],
  ["task.secrets", "secrets"],
  ["task.configs", "configs"],
  ["task.resources.limits.nanoCpus", "deploy.resources.limits.cpus"],
  ["task.resources.limits.memoryBytes", "deploy.resources.limits.memory"],
  ["task.resources.limits.pids", "deploy.resources.limits.pids"],
  ["task.resources.reservations.nanoCpus", "deploy.resources.reservations.cpus"],
  ["task.resources.reservations.memoryBytes", "deploy.resources.reservations.memory"],
  ["task.restartPolicy", "deploy.restart_policy"],
  ["task.placement.constraints", "deploy.placement.constraints"],
  ["task.placement.preferences", "deploy.placement.preferences"],
  ["task.placement.maxReplicasPerNode", "deploy.placement.max_replicas_per_node"],
  ["task.networks", "networks"],
  ["endpoint.ports", "ports"],
  ["endpoint.mode", "deploy.endpoint_mode"],
  ["update", "deploy.update_config"],
  ["rollback", "deploy.rollback_config"],
  ["replicas", "deploy.replicas"],
  ["labels", "deploy.labels"],
  ["mode", "deploy.mode"],
  ["dependsOn", "depends_on"],
];

const renumbered = new Set(["endpoint.ports", "task.container.mounts", "task.container.env", "task.container.hosts"]);

function composePath(service: string, specPath: string): string {
  const at = `services.${service}`;
  if (specPath === "name") return at;
  for (const [prefix, compose] of specToCompose)
    if (specPath === prefix || specPath.startsWith(`${prefix}.`)) {
      const rest = specPath.slice(prefix.length);
      // These lists are built in another order than the file's (port ranges, tmpfs mounts, env files, mappings): name the field only.
      if (renumbered.has(prefix)) return `${at}.${compose}${/^\.\d+$|^$/.test(rest) ? "" : ` (${specPath})`}`;
      return `${at}.${compose}${rest}`;
    }
  return `${at} (${specPath})`;
}

const describeVersion = (v: unknown) => (typeof v === "number" ? String(v) : typeof v === "string" ? v : "");

function parseFile(text: string, label: string, errors: StackIssue[]): Record<string, unknown> | undefined {
  const read = readYaml(text, label);
  if (!read.ok) {
    errors.push(read.issue);
    return undefined;
  }
  const value = read.value;
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    errors.push({ path: label, message: "a compose file is a mapping with services: at the top" });
    return undefined;
  }
  const version = describeVersion((value as Record<string, unknown>).version);
  if (version && !/^3(\.\d+)?$/.test(version)) {
    errors.push({
      path: "version",
      message: /^[12](\.|$)/.test(version)
        ? `version ${version} files are not supported: stacks read compose version 3 files (version: "3.8"); move container options such as mem_limit under deploy`
        : `version ${version} is not supported: stacks read compose version 3 files (version: "3.8")`,
    });
    return undefined;
  }
  return value as Record<string, unknown>;
}

/** The first maxReportedIssues problems, and how many more there were: a refusal stays small whatever the file. */
function reported(errors: StackIssue[]): StackIssue[] {
  if (errors.length <= maxReportedIssues) return errors;
  return [...errors.slice(0, maxReportedIssues), { path: "file", message: `and ${errors.length - maxReportedIssues} more problems (the first ${maxReportedIssues} are listed)` }];
}

export function loadStack(input: StackInput): LoadResult {
  const errors: StackIssue[] = [];
  const warnings: string[] = [];
  const several = input.files.length > 1;
  const unset = new Set<string>();
  const docs: Record<string, unknown>[] = [];

  input.files.forEach((text, i) => {
    const fileErrors: StackIssue[] = [];
    const fileNote = several ? ` (file ${i + 1})` : "";
    const parsed = parseFile(text, several ? `file ${i + 1}` : "file", fileErrors);
    if (parsed) {
      const interpolated = interpolate(parsed, input.env, "", fileErrors, unset) as Record<string, unknown>;
      const result: CheckResult = { errors: [], ignored: new Map() };
      check(interpolated, composeShape, "", result);
      fileErrors.push(...result.errors);
      for (const [path, keys] of result.ignored) warnings.push(`${path}${fileNote}: ignoring unsupported options: ${keys.join(", ")}`);
      if (fileErrors.length === 0) docs.push(interpolated);
    }
    errors.push(...fileErrors.map((e) => (several && !e.path.startsWith("file") ? { ...e, message: `${e.message}${fileNote}` } : e)));
  });
  for (const name of [...unset].sort()) warnings.push(`the ${name} variable is not set: it stands for an empty string`);
  if (errors.length) return { ok: false, errors: reported(errors), warnings };

  const merged = mergeComposeFiles(docs);
  const services = merged.services;
  if (!services || typeof services !== "object" || Object.keys(services).length === 0)
    return { ok: false, errors: [{ path: "services", message: "no services: a stack needs at least one service under services:" }], warnings };
  for (const [key, s] of Object.entries(services as Record<string, Record<string, unknown>>))
    if (s.restart !== undefined && (s.deploy as Record<string, unknown> | undefined)?.restart_policy !== undefined)
      warnings.push(`services.${key}: ignoring restart: deploy.restart_policy applies`);

  const converted = convertStack(merged, { stack: input.stack, env: input.env, envFiles: input.envFiles ?? {}, ...(input.workingDir ? { workingDir: input.workingDir } : {}) });
  warnings.push(...converted.warnings);
  errors.push(...converted.errors);
  const specs: LoadedStack["services"] = [];
  for (const { key, spec } of converted.services) {
    const parsed = ServiceSpecSchema.safeParse(spec);
    if (parsed.success) specs.push({ key, spec: parsed.data });
    else
      for (const issue of parsed.error.issues) {
        const specPath = issue.path.map(String).join(".");
        const keys = issue.code === "unrecognized_keys" ? `: ${issue.keys.join(", ")}` : "";
        errors.push({ path: composePath(key, specPath), message: `${issue.message}${keys}` });
      }
  }
  if (errors.length) return { ok: false, errors: reported(errors), warnings };
  return { ok: true, services: specs, resources: converted.resources, warnings };
}
