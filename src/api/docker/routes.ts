import { Hono, type Context, type MiddlewareHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { stream } from "hono/streaming";
import { effectiveHeartbeatPeriodMs } from "../../domain/liveness.js";
import { listNodes } from "../../db/nodes.js";
import { countServiceTasks, getService, listServices, type ServiceRow } from "../../db/services.js";
import { listFileObjects } from "../../db/file-objects.js";
import { listNetworks, listVirtualIps } from "../../db/networks.js";
import { maxEventId } from "../../db/events.js";
import { eventTypes, fileObjectKinds, type EventType, type FileObjectKind } from "../../db/schema/index.js";
import { getTask, getTaskSpecs, listServiceTasks, listTasks, type TaskRow } from "../../db/tasks.js";
import type { LogRecord } from "../../domain/log-lines.js";
import { imageRefProblem } from "../../domain/image-ref.js";
import { hashTaskSpec, taskSpecOf } from "../../domain/task-spec.js";
import { parseEventTime } from "../../events/event-filter.js";
import { access, type Access } from "../../http/access.js";
import { reconciled } from "../../http/pipeline.js";
import { shoalVersion, type AppDeps, type AppEnv } from "../../http/context.js";
import { ApiError, notFound, toApiError } from "../../http/errors.js";
import { followEvents } from "../event-feed.js";
import { filterFileObjects } from "../file-object-filters.js";
import { createFileObject, removeFileObject, resolveFileObject, updateFileObject } from "../file-object-writes.js";
import { filterNetworks } from "../network-filters.js";
import { createNetwork, pruneNetworks, removeNetwork, resolveNetwork, servicesOn } from "../network-writes.js";
import { maxStreamMs } from "../routes/events.js";
import { streamLogs } from "../routes/logs.js";
import { matchesLabelFilters } from "../label-filter.js";
import { filterNodes } from "../node-filters.js";
import { changeNode, removeNode, resolveNode } from "../node-writes.js";
import { currentJoinTokens } from "../routes/swarm.js";
import { registryAuthFromHeader } from "../registry-auth-header.js";
import { filterServices } from "../service-filters.js";
import { createService, removeService, replaceServiceSpec, resolveService, rollBackService } from "../service-writes.js";
import { dockerEvent, dockerEventFilterKeys, matchesDockerEvent } from "./events.js";
import { anyOf, parseDockerFilters, queryBool } from "./filters.js";
import { jsonTooDeep, jsonTooDeepMessage } from "../json-depth.js";
import { DockerFieldError } from "./lenient.js";
import {
  dockerCluster,
  dockerFileObject,
  dockerId,
  dockerLogFrames,
  dockerNetwork,
  dockerNode,
  dockerService,
  dockerTask,
  fileObjectFromDocker,
  networkFromDocker,
  nodeSpecFromDocker,
  normalizeId,
  serviceSpecFromDocker,
} from "./translate.js";

/**
 * The Docker Engine API's swarm part (what a swarm manager answers), so the
 * docker CLI, dockerode and docker-py drive shoal. Served at the root and
 * under /docker (DOCKER_HOST=tcp://host:port/docker), unversioned and as
 * /v1.NN/…. Every route but /_ping takes the same bearer credentials and
 * scopes as shoal's own API. Writes go through the same service and node
 * writes as shoal's routes; errors are Docker's `{"message": …}`.
 */

export const dockerApiVersion = "1.41";
const minApiVersion = "1.24";
const versionParam = ":apiVersion{v[0-9]+\\.[0-9]+}";
const bases = ["", "/docker", `/${versionParam}`, `/docker/${versionParam}`];

const olderThan = (a: string, b: string) => {
  const [am, an] = a.split(".").map(Number);
  const [bm, bn] = b.split(".").map(Number);
  return am! < bm! || (am === bm && an! < bn!);
};

/** Node.js and Go name architectures differently. */
const goArch: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386" };
const runtime = (globalThis as { process?: { platform?: string; arch?: string } }).process;

const unsupported: { path: string; what: string }[] = [
  { path: "/networks/:id/connect", what: "containers join shoal's networks through services (--network); standalone containers cannot be connected" },
  { path: "/networks/:id/disconnect", what: "containers leave shoal's networks through services (--network-rm)" },
  { path: "/swarm/*", what: "shoal's cluster is made by its control plane: hosts join with shoal's agent, not docker swarm" },
];

class NotImplemented extends Error {}

function dockerError(err: unknown): { status: ContentfulStatusCode; message: string } {
  if (err instanceof DockerFieldError) return { status: 400, message: `invalid spec: ${err.message}` };
  if (err instanceof NotImplemented) return { status: 501, message: err.message };
  const apiError = toApiError(err);
  return { status: apiError.status, message: apiError.message };
}

async function readJson(c: Context<AppEnv>): Promise<unknown> {
  const type = c.req.header("content-type");
  if (type && !/^application\/json\s*(?:;|$)/i.test(type))
    throw new ApiError("validation_failed", `unsupported Content-Type header (${type}): must be 'application/json'`);
  const text = await c.req.text();
  if (!text.trim()) throw new ApiError("validation_failed", "the request body is empty; send a JSON object");
  if (jsonTooDeep(text)) throw new ApiError("validation_failed", jsonTooDeepMessage);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError("validation_failed", `the body is not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
}

function versionQuery(c: Context<AppEnv>): number {
  const raw = c.req.query("version") ?? "";
  if (!/^[1-9][0-9]{0,14}$/.test(raw)) throw new ApiError("validation_failed", `invalid version ${JSON.stringify(raw.slice(0, 30))}: give the Version.Index you read`);
  return Number(raw);
}

/** A time query parameter (`since`, `until`) in ms; undefined when absent; 400 when it is no time. */
function timeQuery(c: Context<AppEnv>, name: "since" | "until"): number | undefined {
  const raw = c.req.query(name);
  if (raw === undefined || raw === "") return undefined;
  const ms = parseEventTime(raw, c.get("now"));
  if (ms === undefined) throw new ApiError("validation_failed", `invalid ${name} ${JSON.stringify(raw.slice(0, 64))}: a Unix timestamp, an RFC 3339 time or a duration such as 10m`);
  return ms;
}

/**
 * The credentials of a service create or update: X-Registry-Auth when sent
 * (--with-registry-auth), else those stored, whichever spec `registryAuthFrom`
 * names (shoal keeps one set per service, so both name it).
 */
function registryAuthOf(c: Context<AppEnv>) {
  const from = c.req.query("registryAuthFrom") ?? "";
  if (!["", "spec", "previous-spec"].includes(from))
    throw new ApiError("validation_failed", `unsupported registryAuthFrom value ${JSON.stringify(from.slice(0, 30))}: spec or previous-spec`);
  return registryAuthFromHeader(c.req.header("x-registry-auth"));
}

/** A reference in Docker's form (id without prefix, id prefix, name) or shoal's; 404 names what the user typed. */
async function resolveRef<T>(resolve: (ref: string) => Promise<T>, kind: "svc" | "node" | "net" | "sec" | "cfg", label: string, ref: string): Promise<T> {
  try {
    return await resolve(ref);
  } catch (err) {
    if (!(err instanceof ApiError) || err.code !== "not_found" || ref.startsWith(`${kind}_`)) throw err;
  }
  try {
    return await resolve(`${kind}_${ref}`);
  } catch (err) {
    if (err instanceof ApiError && err.code === "not_found") throw notFound(label, ref);
    throw err;
  }
}

export function dockerApi(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  const findService = (ref: string) => resolveRef((r) => resolveService(deps.db, r), "svc", "service", ref);
  const findNode = (ref: string) => {
    if (ref === "self") throw notFound("node", "self (shoal's control plane is not a node; give a node id or hostname)");
    return resolveRef((r) => resolveNode(deps.db, r), "node", "node", ref);
  };
  const findNetwork = (ref: string) => resolveRef((r) => resolveNetwork(deps.db, r), "net", "network", ref);
  const findFileObject = (kind: FileObjectKind, ref: string) => resolveRef((r) => resolveFileObject(deps.db, kind, r), kind === "secret" ? "sec" : "cfg", kind, ref);
  const filtersOf = (c: Context<AppEnv>, allowed: readonly string[]) => parseDockerFilters(c.req.query("filters"), allowed);

  type Handler = (c: Context<AppEnv>) => Response | Promise<Response>;
  const versionCheck: MiddlewareHandler<AppEnv> = async (c, next) => {
    c.header("Api-Version", dockerApiVersion);
    const version = c.req.param("apiVersion")?.slice(1);
    if (version && olderThan(version, minApiVersion))
      throw new ApiError(
        "validation_failed",
        `client version ${version} is too old. Minimum supported API version is ${minApiVersion}, please upgrade your client to a newer version`,
      );
    await next();
  };
  const add = (method: "GET" | "POST" | "DELETE" | "HEAD" | "ALL", path: string, level: Access | "public", handler: Handler) => {
    const rest: MiddlewareHandler<AppEnv>[] = [...(level === "public" ? [] : [access(deps, level), reconciled(deps)]), async (c) => handler(c)];
    for (const base of bases) {
      if (method === "ALL") app.all(`${base}${path}`, versionCheck, ...rest);
      else app.on(method, `${base}${path}`, versionCheck, ...rest);
    }
  };

  add("HEAD", "/_ping", "public", (c) => ping(c));
  add("GET", "/_ping", "public", (c) => ping(c));
  function ping(c: Context<AppEnv>) {
    c.header("Cache-Control", "no-cache, no-store, must-revalidate");
    c.header("Pragma", "no-cache");
    c.header("Docker-Experimental", "false");
    c.header("Ostype", "linux");
    c.header("Swarm", "active/manager");
    return c.text(c.req.method === "HEAD" ? "" : "OK", 200);
  }

  add("GET", "/version", "read", (c) => {
    const os = runtime?.platform ?? "linux";
    const arch = goArch[runtime?.arch ?? ""] ?? runtime?.arch ?? "";
    const details = { ApiVersion: dockerApiVersion, MinAPIVersion: minApiVersion, Os: os, Arch: arch, GitCommit: "", GoVersion: "", KernelVersion: "", BuildTime: "" };
    return c.json({ Platform: { Name: "shoal" }, Components: [{ Name: "Engine", Version: shoalVersion, Details: details }], Version: shoalVersion, ...details });
  });

  add("GET", "/info", "read", async (c) => {
    const cluster = c.get("cluster");
    const nodes = await listNodes(deps.db);
    return c.json({
      ID: cluster.id,
      Name: "shoal",
      ServerVersion: shoalVersion,
      OperatingSystem: "shoal control plane",
      OSType: "linux",
      Architecture: goArch[runtime?.arch ?? ""] ?? "",
      // The cluster's capacity: shoal's control plane runs no containers of its own.
      NCPU: Math.floor(nodes.reduce((sum, n) => sum + n.nanoCpus, 0) / 1e9),
      MemTotal: nodes.reduce((sum, n) => sum + n.memoryBytes, 0),
      Containers: 0,
      ContainersRunning: 0,
      ContainersPaused: 0,
      ContainersStopped: 0,
      Images: 0,
      Labels: [],
      ExperimentalBuild: false,
      Swarm: {
        NodeID: "",
        NodeAddr: "",
        LocalNodeState: "active",
        ControlAvailable: true,
        Error: "",
        RemoteManagers: [],
        Nodes: nodes.length,
        Managers: nodes.filter((n) => n.role === "manager").length,
        Cluster: dockerCluster(cluster, effectiveHeartbeatPeriodMs(cluster)),
      },
    });
  });

  add("GET", "/swarm", "read", async (c) => {
    const cluster = c.get("cluster");
    const credential = c.get("credential");
    // Join tokens are for admin tokens only, as in shoal's own API.
    const admin = credential.kind === "api" && credential.scope === "admin";
    return c.json(dockerCluster(cluster, effectiveHeartbeatPeriodMs(cluster), admin ? await currentJoinTokens(deps.keys, cluster) : undefined));
  });

  // --- nodes ---

  add("GET", "/nodes", "read", async (c) => {
    const f = filtersOf(c, ["id", "name", "role", "membership", "label", "node.label"]);
    const nodes = filterNodes(await listNodes(deps.db), {
      id: f.get("id")?.map((v) => `node_${normalizeId(v)}`),
      name: f.get("name"),
      role: f.get("role"),
      membership: f.get("membership"),
      label: f.get("label"),
      "node.label": f.get("node.label"),
    });
    return c.json(nodes.map(dockerNode));
  });

  add("GET", "/nodes/:id", "read", async (c) => c.json(dockerNode(await findNode(c.req.param("id")!))));

  add("POST", "/nodes/:id/update", "admin", async (c) => {
    const version = versionQuery(c);
    const change = nodeSpecFromDocker(await readJson(c));
    const node = await findNode(c.req.param("id")!);
    await changeNode(deps, node, version, change, c.get("now"));
    await c.var.afterWrite();
    return c.body(null, 200);
  });

  add("DELETE", "/nodes/:id", "admin", async (c) => {
    const force = queryBool("force", c.req.query("force"));
    await removeNode(deps, await findNode(c.req.param("id")!), force, c.get("now"));
    await c.var.afterWrite();
    return c.body(null, 200);
  });

  // --- services ---

  add("GET", "/services", "read", async (c) => {
    const f = filtersOf(c, ["id", "name", "label", "mode"]);
    const status = queryBool("status", c.req.query("status"));
    const rows = filterServices(await listServices(deps.db), {
      id: f.get("id")?.map((v) => `svc_${normalizeId(v)}`),
      name: f.get("name"),
      label: f.get("label"),
      mode: f.get("mode"),
    });
    const [counts, vips] = await Promise.all([status ? countServiceTasks(deps.db, rows.map((s) => s.id)) : undefined, listVirtualIps(deps.db)]);
    return c.json(rows.map((s) => dockerService(s, vips.get(s.id) ?? [], counts && (counts.get(s.id) ?? { running: 0, desired: 0, completed: 0 }))));
  });

  add("POST", "/services/create", "admin", async (c) => {
    const registryAuth = registryAuthOf(c);
    const spec = serviceSpecFromDocker(await readJson(c));
    const now = c.get("now");
    const row = await createService(deps, spec, now, registryAuth);
    await c.var.afterWrite();
    return c.json({ ID: dockerId(row.id) }, 201);
  });

  add("GET", "/services/:id", "read", async (c) => {
    const s = await findService(c.req.param("id")!);
    return c.json(dockerService(s, (await listVirtualIps(deps.db, [s.id])).get(s.id) ?? []));
  });

  add("POST", "/services/:id/update", "admin", async (c) => {
    const version = versionQuery(c);
    const registryAuth = registryAuthOf(c);
    const rollback = c.req.query("rollback") ?? "";
    if (rollback !== "" && rollback !== "previous") throw new ApiError("validation_failed", `invalid rollback ${JSON.stringify(rollback.slice(0, 30))}: only "previous"`);
    const body = await readJson(c);
    const current = await findService(c.req.param("id")!);
    const now = c.get("now");
    if (current.version !== version)
      throw new ApiError("version_conflict", `update out of sequence: service ${current.name} is at version ${current.version}, not ${version}; read it again and retry`);
    // docker service rollback sends the current spec: the previous one is what it asks for.
    if (rollback === "previous") await rollBackService(deps, current, now, registryAuth);
    else await replaceServiceSpec(deps, current, serviceSpecFromDocker(body, current.spec), now, registryAuth);
    await c.var.afterWrite();
    return c.json({});
  });

  add("DELETE", "/services/:id", "admin", async (c) => {
    const now = c.get("now");
    await removeService(deps, await findService(c.req.param("id")!), now);
    await c.var.afterWrite();
    return c.body(null, 200);
  });

  // --- logs: the relay's lines in dockerd's stream format ---

  /** `relist`: the service's tasks now, so that following picks up tasks placed later (docker service logs -f). */
  async function logs(c: Context<AppEnv>, tasks: TaskRow[], service: ServiceRow | undefined, names: Map<string, string>, relist?: () => Promise<TaskRow[]>) {
    const flag = (name: string) => queryBool(name, c.req.query(name));
    const options = { stdout: flag("stdout"), stderr: flag("stderr"), timestamps: flag("timestamps"), details: flag("details"), tty: service?.spec.task.container.tty ?? false };
    if (!options.stdout && !options.stderr) throw new ApiError("validation_failed", "Bad parameters: you must choose at least one stream");
    const tail = c.req.query("tail") || "all";
    if (!/^(all|\d{1,9})$/.test(tail)) throw new ApiError("validation_failed", `invalid tail ${JSON.stringify(tail.slice(0, 20))}: a number of lines or all`);
    timeQuery(c, "since");
    const since = c.req.query("since") || undefined;
    const who = new Map<string, { serviceId: string; nodeId: string }>();
    const encoding = {
      contentType: options.tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream",
      encode: (records: LogRecord[]) => {
        for (const r of records) if (r.kind === "tasks") for (const t of r.tasks) who.set(t.id, t);
        return dockerLogFrames(records.flatMap((r) => (r.kind === "line" ? [r] : [])), who, options);
      },
    };
    const query = { follow: flag("follow") ? "true" : "false", tail, since: since === "0" ? undefined : since } as const;
    return streamLogs(deps, c, query, tasks, names, null, encoding, relist);
  }

  add("GET", "/services/:id/logs", "read", async (c) => {
    const s = await findService(c.req.param("id")!);
    const relist = () => listServiceTasks(deps.db, s.id);
    return logs(c, await relist(), s, new Map([[s.id, s.name]]), relist);
  });

  add("GET", "/tasks/:id/logs", "read", async (c) => {
    const ref = c.req.param("id")!;
    const task = await getTask(deps.db, `task_${normalizeId(ref)}`);
    if (!task) throw notFound("task", ref);
    const s = await getService(deps.db, task.serviceId);
    return logs(c, [task], s, new Map([[task.serviceId, s?.name ?? task.serviceId]]));
  });

  // --- tasks ---

  add("GET", "/tasks", "read", async (c) => {
    const f = filtersOf(c, ["id", "name", "service", "node", "desired-state", "label", "_up-to-date"]);
    const [services, tasks] = await Promise.all([listServices(deps.db), listTasks(deps.db)]);
    const byId = new Map(services.map((s) => [s.id, s]));
    const serviceIds = f.get("service") && new Set(await Promise.all(f.get("service")!.map(async (ref) => (await findService(ref)).id)));
    const nodeIds = f.get("node") && new Set(await Promise.all(f.get("node")!.map(async (ref) => (await findNode(ref)).id)));
    // docker's "accepted" means tasks being started: desired ready or running.
    const desired = f.get("desired-state")?.flatMap((d) => (d === "accepted" ? ["ready", "running"] : [d]));
    const currentHash = new Map<string, string>();
    const upToDate = (s: ServiceRow | undefined, hash: string) => {
      if (!s) return false;
      if (!currentHash.has(s.id)) currentHash.set(s.id, hashTaskSpec(taskSpecOf(s.spec)));
      return currentHash.get(s.id) === hash;
    };
    const selected = tasks.filter((t) => {
      const service = byId.get(t.serviceId);
      const name = `${service?.name ?? dockerId(t.serviceId)}.${t.slot ?? (t.nodeId && dockerId(t.nodeId))}`;
      return (
        (!serviceIds || serviceIds.has(t.serviceId)) &&
        (!nodeIds || (t.nodeId !== null && nodeIds.has(t.nodeId))) &&
        (!desired?.length || desired.includes(t.desiredState)) &&
        anyOf(f, "id", (v) => dockerId(t.id).startsWith(normalizeId(v))) &&
        anyOf(f, "name", (v) => name.startsWith(v)) &&
        matchesLabelFilters(service?.spec.labels ?? {}, f.get("label")) &&
        anyOf(f, "_up-to-date", (v) => queryBool("_up-to-date", v) === upToDate(service, t.specHash))
      );
    });
    const specs = await getTaskSpecs(deps.db, selected.map((t) => t.specHash));
    return c.json(selected.map((t) => dockerTask(t, specs.get(t.specHash))));
  });

  add("GET", "/tasks/:id", "read", async (c) => {
    const ref = c.req.param("id")!;
    const task = await getTask(deps.db, `task_${normalizeId(ref)}`);
    if (!task) throw notFound("task", ref);
    return c.json(dockerTask(task, (await getTaskSpecs(deps.db, [task.specHash])).get(task.specHash)));
  });

  // --- networks: shoal's overlays, swarm-scoped ---

  add("GET", "/networks", "read", async (c) => {
    const f = filtersOf(c, ["id", "name", "label", "driver", "scope", "type", "dangling"]);
    const [networks, services] = await Promise.all([listNetworks(deps.db), listServices(deps.db)]);
    const selected = filterNetworks(networks, {
      id: f.get("id")?.map((v) => `net_${normalizeId(v)}`),
      name: f.get("name"),
      label: f.get("label"),
      driver: f.get("driver"),
      scope: f.get("scope"),
      type: f.get("type"),
    });
    // dangling: used by no service (the ingress network is the cluster's, never dangling).
    const dangling = f.get("dangling")?.map((v) => queryBool("dangling", v));
    return c.json(selected.filter((n) => !dangling?.length || dangling.includes(!n.ingress && servicesOn(services, n).length === 0)).map(dockerNetwork));
  });

  add("GET", "/networks/:id", "read", async (c) => c.json(dockerNetwork(await findNetwork(c.req.param("id")!))));

  add("POST", "/networks/create", "admin", async (c) => {
    const row = await createNetwork(deps, networkFromDocker(await readJson(c)), c.get("now"));
    await c.var.afterWrite();
    return c.json({ Id: dockerId(row.id), Warning: "" }, 201);
  });

  add("DELETE", "/networks/:id", "admin", async (c) => {
    const now = c.get("now");
    await removeNetwork(deps, await findNetwork(c.req.param("id")!), now);
    await c.var.afterWrite();
    return c.body(null, 204);
  });

  add("POST", "/networks/prune", "admin", async (c) => {
    const now = c.get("now");
    const deleted = await pruneNetworks(deps, filtersOf(c, ["label"]).get("label"), now);
    if (deleted.length) await c.var.afterWrite();
    return c.json({ NetworksDeleted: deleted });
  });

  // --- secrets and configs: the same routes for both; a secret's data never in an answer ---

  for (const kind of fileObjectKinds) {
    const base = `/${kind}s`;
    add("GET", base, "read", async (c) => {
      const f = filtersOf(c, ["id", "name", "names", "label"]);
      const prefix = kind === "secret" ? "sec" : "cfg";
      const rows = filterFileObjects(await listFileObjects(deps.db, kind), {
        id: f.get("id")?.map((v) => `${prefix}_${normalizeId(v)}`),
        name: f.get("name"),
        names: f.get("names"),
        label: f.get("label"),
      });
      return c.json(rows.map(dockerFileObject));
    });

    add("GET", `${base}/:id`, "read", async (c) => c.json(dockerFileObject(await findFileObject(kind, c.req.param("id")!))));

    add("POST", `${base}/create`, "admin", async (c) => {
      const row = await createFileObject(deps, kind, fileObjectFromDocker(await readJson(c), kind), c.get("now"));
      return c.json({ ID: dockerId(row.id) }, 201);
    });

    // Only labels change, as in Swarm; docker stack deploy sends the unchanged data again.
    add("POST", `${base}/:id/update`, "admin", async (c) => {
      const version = versionQuery(c);
      const change = fileObjectFromDocker(await readJson(c), kind, "update");
      await updateFileObject(deps, await findFileObject(kind, c.req.param("id")!), version, change, c.get("now"));
      return c.body(null, 200);
    });

    add("DELETE", `${base}/:id`, "admin", async (c) => {
      await removeFileObject(deps, await findFileObject(kind, c.req.param("id")!), c.get("now"));
      return c.body(null, 204);
    });
  }

  // --- events: newline-delimited JSON, as dockerd streams them; bounded like shoal's own stream ---

  add("GET", "/events", "read", async (c) => {
    const f = filtersOf(c, dockerEventFilterKeys);
    const now = c.get("now");
    const sinceMs = timeQuery(c, "since");
    const untilMs = timeQuery(c, "until");
    const types = f.get("type")?.filter((t): t is EventType => (eventTypes as readonly string[]).includes(t));
    const range = { sinceMs, untilMs, types: types?.length ? types : undefined };
    const cursor = sinceMs === undefined ? await maxEventId(deps.db) : 0;
    const startedAt = Date.now();
    const endAt = Math.min(startedAt + maxStreamMs, untilMs === undefined ? Infinity : startedAt + (untilMs - now));
    c.header("Content-Type", "application/json");
    return stream(c, async (out) => {
      await followEvents(deps.db, range, cursor, endAt, out, async (e) => {
        const ev = dockerEvent(e);
        if (ev && matchesDockerEvent(ev, f)) await out.write(`${JSON.stringify(ev)}\n`);
      });
    });
  });

  // The agents resolve images, not the control plane (which may reach no registry). A descriptor with
  // no digest and no platforms is what makes the docker CLI keep the tag as given and add no platform
  // constraint (its digest pinning fails on the empty digest); an error would make it print a warning
  // on every create and update, as it does against a dockerd that cannot reach the registry.
  add("GET", "/distribution/*", "read", (c) => {
    const name = /\/distribution\/(.+)\/json$/.exec(c.req.path)?.[1];
    if (name === undefined) return c.json({ message: "page not found" }, 404);
    let ref = name;
    try {
      ref = decodeURIComponent(name);
    } catch {
      // Not percent-encoded text: judged as it is.
    }
    const problem = ref.length > 512 ? "longer than 512 characters" : imageRefProblem(ref);
    if (problem) throw new ApiError("validation_failed", `invalid reference format: ${problem}`);
    return c.json({ Descriptor: { mediaType: "", digest: "", size: 0 }, Platforms: [] });
  });

  for (const { path, what } of unsupported)
    add("ALL", path, "read", () => {
      throw new NotImplemented(what);
    });

  // What dockerd answers for a path it does not serve; shoal's own paths are outside these prefixes.
  for (const base of bases.slice(1))
    app.all(`${base}/*`, (c) => {
      c.header("Api-Version", dockerApiVersion);
      return c.json({ message: "page not found" }, 404);
    });

  app.onError((err, c) => dockerErrorResponse(deps, err, c));

  return app;
}

/** Whether a path is the Docker Engine API's (so its errors are Docker's `{"message"}`), not shoal's own `/v1/…`. */
export const isDockerApiPath = (path: string) =>
  /^(?:\/docker)?(?:\/v[0-9]+\.[0-9]+)?\/(?:_ping|version|info|swarm|nodes|services|tasks|networks|secrets|configs|distribution)(?:\/|$)/.test(path) ||
  /^\/docker(?:\/|$)/.test(path);

/** Docker's error answer; the Docker routes' onError, and the app's for what fails before they run (an oversized body). */
export function dockerErrorResponse(deps: Pick<AppDeps, "logger">, err: unknown, c: Context<AppEnv>): Response {
  const { status, message } = dockerError(err);
  if (status === 500) deps.logger.error("docker api request failed", { method: c.req.method, path: c.req.path, error: err instanceof Error ? err.stack : String(err) });
  c.header("Api-Version", dockerApiVersion);
  if (status === 413) c.header("Connection", "close");
  return c.json({ message }, status);
}
