import { z } from "@hono/zod-openapi";
import { ApiError } from "../http/errors.js";
import { strictObject } from "../protocol/schema.js";
import { validationError } from "../http/validation.js";
import type { ServiceSpec } from "../domain/service-spec.js";
import { imageTagPattern, parseImageRef, repositoryPath, withImageTag } from "../domain/image-ref.js";

export const hookSources = ["plain", "dockerhub", "github"] as const;
export type HookSource = (typeof hookSources)[number];

/** What a call to a webhook asks for: a redeploy (maybe at another tag), or nothing (a ping, an untagged push). */
export type HookTrigger =
  | { kind: "redeploy"; source: HookSource; tag?: string; repository?: string }
  | { kind: "ignore"; source: HookSource; reason: string };

const Tag = z.string().regex(imageTagPattern, "an image tag: letters, digits, _ . -, at most 128, not starting with . or -");

/** The plain form is strict (an unknown field is likely a typo); registries' payloads are taken as they come. */
const PlainPayload = strictObject({ tag: Tag.optional() });

const DockerHubPayload = z.looseObject({
  push_data: z.looseObject({ tag: Tag }),
  repository: z.looseObject({ repo_name: z.string() }).optional(),
});

const GitHubPackage = z.looseObject({
  name: z.string(),
  namespace: z.string().optional(),
  owner: z.looseObject({ login: z.string() }).optional(),
  package_type: z.string().optional(),
  package_version: z
    .looseObject({
      container_metadata: z.looseObject({ tag: z.looseObject({ name: z.string() }).nullish() }).nullish(),
    })
    .nullish(),
});
const GitHubPayload = z.looseObject({
  action: z.string(),
  package: GitHubPackage.optional(),
  registry_package: GitHubPackage.optional(),
});

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (!result.success) throw validationError(result.error, "json");
  return result.data;
}

function fromGitHub(body: unknown): HookTrigger {
  const payload = parse(GitHubPayload, body);
  const pkg = payload.package ?? payload.registry_package;
  if (!pkg) throw new ApiError("validation_failed", "a GitHub package event names its package", [{ path: "body.package", message: "required" }]);
  const ignore = (reason: string): HookTrigger => ({ kind: "ignore", source: "github", reason });
  if (payload.action !== "published") return ignore(`package ${payload.action}, not published`);
  if (pkg.package_type && !/^(container|docker)$/i.test(pkg.package_type)) return ignore(`a ${pkg.package_type} package, not a container image`);
  const tag = pkg.package_version?.container_metadata?.tag?.name ?? "";
  if (!tag) return ignore("an untagged image version");
  const field = payload.package ? "package" : "registry_package";
  const checked = Tag.safeParse(tag);
  if (!checked.success)
    throw new ApiError("validation_failed", `invalid request: body.${field}.package_version.container_metadata.tag.name: not an image tag`, [
      { path: `body.${field}.package_version.container_metadata.tag.name`, message: checked.error.issues[0]?.message ?? "not an image tag" },
    ]);
  const owner = pkg.namespace ?? pkg.owner?.login;
  return { kind: "redeploy", source: "github", tag, ...(owner ? { repository: `${owner}/${pkg.name}` } : {}) };
}

/**
 * Reads what a webhook call asks for: a plain body (`{}` or `{"tag": "v2"}`, or none),
 * Docker Hub's push payload (`push_data.tag`), or a GitHub `package` /
 * `registry_package` event. `?tag=` sets the tag too; given twice, both must agree.
 * Throws ApiError (400) naming the bad field.
 */
export function parseHookTrigger(input: { body: unknown; queryTag?: string; githubEvent?: string }): HookTrigger {
  const { body, queryTag, githubEvent } = input;
  if (githubEvent === "ping") return { kind: "ignore", source: "github", reason: "GitHub ping" };
  if (queryTag !== undefined) {
    const checked = Tag.safeParse(queryTag);
    if (!checked.success) throw validationError(checked.error, "query.tag");
  }
  let trigger: HookTrigger;
  if (body === undefined) trigger = { kind: "redeploy", source: "plain" };
  else if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new ApiError("validation_failed", "invalid request: body: expected a JSON object", [{ path: "body", message: "expected a JSON object" }]);
  else if ("push_data" in body) {
    const payload = parse(DockerHubPayload, body);
    const repository = payload.repository?.repo_name;
    trigger = { kind: "redeploy", source: "dockerhub", tag: payload.push_data.tag, ...(repository ? { repository } : {}) };
  } else if ("package" in body || "registry_package" in body || githubEvent === "package" || githubEvent === "registry_package") trigger = fromGitHub(body);
  else {
    const { tag } = parse(PlainPayload, body);
    trigger = { kind: "redeploy", source: "plain", ...(tag ? { tag } : {}) };
  }
  if (trigger.kind === "redeploy" && queryTag !== undefined) {
    if (trigger.tag !== undefined && trigger.tag !== queryTag)
      throw new ApiError("validation_failed", `invalid request: query.tag: ${queryTag} differs from the body's tag ${trigger.tag}`, [
        { path: "query.tag", message: `differs from the body's tag ${trigger.tag}` },
      ]);
    trigger = { ...trigger, tag: queryTag };
  }
  return trigger;
}

/**
 * The spec a redeploy writes: `task.forceUpdate` bumped (so every task is replaced,
 * as `docker service update --force`), and the image at `tag` when one is given.
 * Refuses a registry payload for another repository than the service's image.
 */
export function planRedeploy(spec: ServiceSpec, trigger: Extract<HookTrigger, { kind: "redeploy" }>): ServiceSpec {
  const image = spec.task.container.image;
  if (trigger.repository !== undefined) {
    const ours = repositoryPath(parseImageRef(image).repository);
    const theirs = repositoryPath(trigger.repository);
    if (ours !== theirs)
      throw new ApiError("validation_failed", `invalid request: body: the payload is for repository ${trigger.repository}; this service runs ${image}`, [
        { path: "body", message: `repository ${trigger.repository} is not the service's (${ours})` },
      ]);
  }
  return {
    ...spec,
    task: {
      ...spec.task,
      // Wraps within the schema's bound; any change redeploys.
      forceUpdate: (spec.task.forceUpdate + 1) % 2 ** 31,
      container: { ...spec.task.container, image: trigger.tag === undefined ? image : withImageTag(image, trigger.tag) },
    },
  };
}
