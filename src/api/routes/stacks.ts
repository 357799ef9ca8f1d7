import { createRoute, z } from "@hono/zod-openapi";
import { countServiceTasks, listServices, type ServiceRow } from "../../db/services.js";
import { deleteStackResources, listStackResources, replaceStackResources } from "../../db/stacks.js";
import { listTasks, taskImages } from "../../db/tasks.js";
import { stableJson } from "../../domain/task-spec.js";
import { stackResourceKinds, type StackResource } from "../../domain/stack.js";
import { stackNamespaceLabel } from "../../stack/convert.js";
import { entriesToMapping } from "../../stack/merge.js";
import { listNetworks, listVirtualIps } from "../../db/networks.js";
import { createNetwork, removeNetwork, type NetworkRequest } from "../network-writes.js";
import { maxFileObjectBase64 } from "../file-object-writes.js";
import { createStackFileObjects, planStackFileObjects, removeStackFileObjects } from "../stack-file-objects.js";
import { loadStack } from "../../stack/load.js";
import { access } from "../../http/access.js";
import { reconciled } from "../../http/pipeline.js";
import type { AppDeps } from "../../http/context.js";
import { ApiError, notFound } from "../../http/errors.js";
import { assignIngressPorts } from "../ingress-ports.js";
import { bearer, errorResponses, jsonBody, jsonResponse } from "../../http/openapi.js";
import { strictObject } from "../../protocol/schema.js";
import { newRouter } from "../../http/router.js";
import { registryAuthsFromConfig } from "../registry-auth-header.js";
import { createService, removeService, replaceServiceSpec, specReplacing, storeRegistryAuth } from "../service-writes.js";
import { ServiceSchema, toService } from "./services.js";
import { TaskSchema, toTask } from "./tasks.js";

/**
 * Stacks (docker stack): compose files deployed as services named
 * `<stack>_<service>` and labelled `com.docker.stack.namespace=<stack>`. As in
 * Swarm a stack is not an object of its own: its services are those carrying
 * the label. The files are interpolated here with the environment the caller
 * sends, so the CLI, webhooks and any other client deploy the same way.
 */

const KiB = 1024;

const StackNameParam = z.object({
  name: z
    .string()
    .max(50, "at most 50 characters")
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_-]*$/, "a stack name: letters, digits, '_' and '-', starting with a letter or digit")
    .openapi({ param: { name: "name", in: "path" }, example: "shop" }),
});

const DeploySchema = strictObject({
  files: z
    .array(z.string().max(512 * KiB, `at most ${512 * KiB} characters`))
    .min(1, "at least one compose file")
    .max(16, "at most 16 files")
    .openapi({ description: "The compose files' contents, in order: later files override earlier ones (docker stack deploy -c a.yml -c b.yml)" }),
  env: z
    .record(z.string().max(255), z.string().max(32 * KiB))
    .default({})
    .openapi({ description: "The environment ${VAR} is interpolated from (the CLI sends its own); also fills environment entries left empty" }),
  workingDir: z
    .string()
    .max(4096)
    .regex(/^\//, "an absolute path, like /home/me/app")
    .optional()
    .openapi({ description: "The first file's directory: relative bind mount sources are resolved against it" }),
  envFiles: z
    .record(z.string().max(4096), z.string().max(256 * KiB))
    .default({})
    .openapi({ description: "Contents of the files named by env_file, by the path as written in the compose file" }),
  objectFiles: z
    .record(z.string().max(4096), z.string().max(maxFileObjectBase64))
    .default({})
    .openapi({ description: "Contents (base64) of the files named by the top-level secrets' and configs' file:, by the path as written in the compose file" }),
  prune: z.boolean().default(false).openapi({ description: "Remove the stack's services that the files no longer define" }),
}).openapi("StackDeploy");

const StackResourceSchema = z
  .object({
    kind: z.enum(stackResourceKinds),
    name: z.string(),
    key: z.string().openapi({ description: "The key in the compose file" }),
    external: z.boolean(),
    definition: z.record(z.string(), z.unknown()),
  })
  .openapi("StackResource", { description: "A network, volume, secret or config the stack declares: checked and recorded, created once shoal has them" });

const DeployResultSchema = z
  .object({
    stack: z.string(),
    services: z.array(
      z.object({
        name: z.string(),
        id: z.string(),
        action: z.enum(["created", "updated", "unchanged", "removed"]),
      }),
    ),
    resources: z.array(StackResourceSchema),
    warnings: z.array(z.string()).openapi({ description: "Ignored options, unset variables" }),
  })
  .openapi("StackDeployResult");

const StackSummarySchema = z
  .object({ name: z.string(), services: z.number().int().openapi({ description: "How many services the stack has" }) })
  .openapi("Stack");

const text = (v: unknown) => (v === null || v === undefined ? "" : String(v));

/** A compose network of the stack as a network create (docker stack deploy: overlay, the namespace label). */
function stackNetworkRequest(stack: string, r: StackResource): NetworkRequest {
  const d = r.definition;
  const driver = d.driver === undefined ? "overlay" : d.driver;
  if (driver !== "overlay")
    throw new ApiError("validation_failed", `network ${r.key}: driver ${text(driver)} is not available; stacks use overlay networks`, [
      { path: `networks.${r.key}.driver`, message: "only overlay" },
    ]);
  const ipam = (d.ipam ?? {}) as { config?: { subnet?: string }[] };
  const subnet = ipam.config?.[0]?.subnet;
  const options = Object.fromEntries(Object.entries(entriesToMapping(d.driver_opts ?? {})).map(([k, v]) => [k, text(v)]));
  const labels = Object.fromEntries(Object.entries(entriesToMapping(d.labels ?? {})).map(([k, v]) => [k, text(v)]));
  return {
    name: r.name,
    driver: "overlay",
    ...(subnet ? { subnet } : {}),
    options,
    internal: d.internal === true,
    attachable: d.attachable === true,
    labels: { ...labels, [stackNamespaceLabel]: stack },
  };
}

const inStack = (stack: string) => (s: ServiceRow) => s.spec.labels[stackNamespaceLabel] === stack;

export function stackRoutes(deps: AppDeps) {
  const app = newRouter();

  /** A stack's services, or 404 when it has neither services nor recorded resources. */
  async function stackServices(stack: string): Promise<ServiceRow[]> {
    const services = (await listServices(deps.db)).filter(inStack(stack));
    if (services.length === 0 && (await listStackResources(deps.db, stack)).length === 0) throw notFound("stack", stack);
    return services;
  }

  app.openapi(
    createRoute({
      method: "put",
      path: "/v1/stacks/{name}",
      tags: ["stacks"],
      summary: "Deploy a stack from compose files (docker stack deploy)",
      description:
        "Creates the services the files define, updates those whose spec changed (a rolling update) and leaves the others alone. " +
        "With prune, removes the stack's services the files no longer define. Nothing is written when a file is invalid. " +
        "An `X-Registry-Config` header (base64url of a JSON object: registry, as images name it (`docker.io`, `host:port`) → Docker's credentials object, as `--with-registry-auth` sends it) " +
        "gives each service its image registry's credentials (none there: its stored ones are removed), stored encrypted and shown in no answer; without it, the stored ones are kept.",
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      request: { params: StackNameParam, body: jsonBody(DeploySchema) },
      responses: { 200: jsonResponse(DeployResultSchema, "What changed"), ...errorResponses },
    }),
    async (c) => {
      const now = c.get("now");
      const { name: stack } = c.req.valid("param");
      const body = c.req.valid("json");
      const registryAuthOf = registryAuthsFromConfig(c.req.header("x-registry-config"));
      const loaded = loadStack({ stack, files: body.files, env: body.env, envFiles: body.envFiles, ...(body.workingDir ? { workingDir: body.workingDir } : {}) });
      if (!loaded.ok)
        throw new ApiError(
          "validation_failed",
          `invalid compose file: ${loaded.errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`,
          loaded.errors,
        );

      // Every check before the first write.
      const existing = new Map((await listServices(deps.db)).map((s) => [s.name, s]));
      for (const { key, spec } of loaded.services) {
        const current = existing.get(spec.name);
        if (!current) continue;
        if (!inStack(stack)(current))
          throw new ApiError("conflict", `service ${spec.name} exists and is not part of stack ${stack}; remove or rename it first`, [
            { path: `services.${key}`, message: `${spec.name} belongs to no stack or another one` },
          ]);
        if (current.mode !== spec.mode)
          throw new ApiError("validation_failed", `the mode of ${spec.name} cannot change (${current.mode} → ${spec.mode}); remove the service first`, [
            { path: `services.${key}.deploy.mode`, message: `must stay ${current.mode}` },
          ]);
      }
      // Networks: external ones must exist; the stack's own are created (or kept) before its services.
      const networks = await listNetworks(deps.db);
      const toCreate: NetworkRequest[] = [];
      for (const r of loaded.resources) {
        if (r.kind !== "network") continue;
        const found = networks.find((n) => n.name === r.name);
        if (r.external) {
          if (!found)
            throw new ApiError("not_found", `external network ${r.name} not found; create it first (shoal network create -d overlay ${r.name})`, [
              { path: `networks.${r.key}`, message: "no such network" },
            ]);
        } else if (found) {
          if (found.labels[stackNamespaceLabel] !== stack)
            throw new ApiError("conflict", `network ${r.name} exists and is not part of stack ${stack}; remove or rename it first`, [
              { path: `networks.${r.key}`, message: `${r.name} belongs to no stack or another one` },
            ]);
        } else toCreate.push(stackNetworkRequest(stack, r));
      }
      // Secrets and configs: external ones must exist; the stack's own are made from the files sent, and never change.
      const fileObjects = await planStackFileObjects(deps, stack, loaded.resources, body.objectFiles);
      // Published ports, against the services as the deploy leaves them: a clash found midway would leave it half done.
      const wanted = new Set(loaded.services.map((s) => s.spec.name));
      const projected = new Map(
        [...existing].filter(([name, s]) => !(body.prune && inStack(stack)(s) && !wanted.has(name))).map(([name, s]) => [name, s.spec]),
      );
      for (const { key, spec } of loaded.services) {
        const others = [...projected].filter(([name]) => name !== spec.name).map(([, other]) => other);
        try {
          projected.set(spec.name, assignIngressPorts(spec, others, existing.get(spec.name)?.spec));
        } catch (err) {
          if (!(err instanceof ApiError)) throw err;
          throw new ApiError(err.code, `${spec.name}: ${err.message}`, [{ path: `services.${key}.ports`, message: err.message }]);
        }
      }

      for (const request of toCreate) await createNetwork(deps, request, now);
      await createStackFileObjects(deps, fileObjects, now);
      const results: z.infer<typeof DeployResultSchema>["services"] = [];
      if (body.prune) {
        for (const service of existing.values())
          if (inStack(stack)(service) && !wanted.has(service.name)) {
            await removeService(deps, service, now);
            results.push({ name: service.name, id: service.id, action: "removed" });
          }
      }
      for (const { spec } of loaded.services) {
        const current = existing.get(spec.name);
        const registryAuth = registryAuthOf?.(spec);
        if (!current) {
          const created = await createService(deps, spec, now, registryAuth);
          results.push({ name: created.name, id: created.id, action: "created" });
        } else if (stableJson(await specReplacing(deps, current, spec)) === stableJson(current.spec)) {
          await storeRegistryAuth(deps, current.id, registryAuth);
          results.push({ name: current.name, id: current.id, action: "unchanged" });
        } else {
          await replaceServiceSpec(deps, current, spec, now, registryAuth);
          results.push({ name: current.name, id: current.id, action: "updated" });
        }
      }
      const summary: Record<string, string> = {};
      for (const { action } of results) summary[action] = String(Number(summary[action] ?? 0) + 1);
      await replaceStackResources(deps.db, stack, loaded.resources, now, summary);
      await c.var.afterWrite();
      return c.json({ stack, services: results, resources: loaded.resources, warnings: loaded.warnings }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/stacks",
      tags: ["stacks"],
      summary: "List stacks (docker stack ls)",
      security: bearer,
      middleware: [access(deps, "read"), reconciled(deps)],
      responses: { 200: jsonResponse(z.array(StackSummarySchema), "Stacks, by name"), ...errorResponses },
    }),
    async (c) => {
      const counts = new Map<string, number>();
      for (const s of await listServices(deps.db)) {
        const stack = s.spec.labels[stackNamespaceLabel];
        if (stack !== undefined) counts.set(stack, (counts.get(stack) ?? 0) + 1);
      }
      for (const r of await listStackResources(deps.db)) if (!counts.has(r.stack)) counts.set(r.stack, 0);
      const stacks = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([name, services]) => ({ name, services }));
      return c.json(stacks, 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/stacks/{name}/services",
      tags: ["stacks"],
      summary: "The services of a stack (docker stack services)",
      security: bearer,
      middleware: [access(deps, "read"), reconciled(deps)],
      request: { params: StackNameParam },
      responses: { 200: jsonResponse(z.array(ServiceSchema), "The stack's services"), ...errorResponses },
    }),
    async (c) => {
      const services = await stackServices(c.req.valid("param").name);
      const ids = services.map((s) => s.id);
      const [counts, vips] = await Promise.all([countServiceTasks(deps.db, ids), listVirtualIps(deps.db, ids)]);
      return c.json(services.map((s) => toService(s, counts.get(s.id), vips.get(s.id))), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/stacks/{name}/tasks",
      tags: ["stacks"],
      summary: "The tasks of a stack's services (docker stack ps)",
      security: bearer,
      middleware: [access(deps, "read"), reconciled(deps)],
      request: { params: StackNameParam },
      responses: { 200: jsonResponse(z.array(TaskSchema), "The stack's tasks"), ...errorResponses },
    }),
    async (c) => {
      const names = new Map((await stackServices(c.req.valid("param").name)).map((s) => [s.id, s.name]));
      const [all, images] = await Promise.all([listTasks(deps.db), taskImages(deps.db)]);
      const tasks = all.filter((t) => names.has(t.serviceId));
      return c.json(tasks.map((t) => toTask(t, names.get(t.serviceId)!, images)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: "delete",
      path: "/v1/stacks/{name}",
      tags: ["stacks"],
      summary: "Remove a stack: its services and what it recorded (docker stack rm)",
      security: bearer,
      middleware: [access(deps, "admin"), reconciled(deps)],
      request: { params: StackNameParam },
      responses: { 204: { description: "Removed" }, ...errorResponses },
    }),
    async (c) => {
      const now = c.get("now");
      const { name } = c.req.valid("param");
      for (const service of await stackServices(name)) await removeService(deps, service, now);
      for (const network of await listNetworks(deps.db)) if (network.labels[stackNamespaceLabel] === name) await removeNetwork(deps, network, now);
      await removeStackFileObjects(deps, name, now);
      await deleteStackResources(deps.db, name, now);
      await c.var.afterWrite();
      return c.body(null, 204);
    },
  );

  return app;
}
