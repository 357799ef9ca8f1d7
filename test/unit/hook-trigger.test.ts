import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/http/errors.js";
import { parseHookTrigger, planRedeploy } from "../../src/hooks/trigger.js";
import { parseImageRef, repositoryPath, withImageTag } from "../../src/domain/image-ref.js";
import type { ServiceSpec } from "../../src/domain/service-spec.js";

describe("image references", () => {
  it.each([
    ["nginx", { repository: "nginx" }],
    ["nginx:1.27", { repository: "nginx", tag: "1.27" }],
    ["localhost:5000/app", { repository: "localhost:5000/app" }],
    ["localhost:5000/app:2", { repository: "localhost:5000/app", tag: "2" }],
    ["ghcr.io/acme/web:v1@sha256:abc", { repository: "ghcr.io/acme/web", tag: "v1", digest: "sha256:abc" }],
    ["acme/web@sha256:abc", { repository: "acme/web", digest: "sha256:abc" }],
  ])("%s", (ref, parts) => {
    expect(parseImageRef(ref)).toEqual(parts);
  });

  it.each([
    ["nginx", "nginx"],
    ["docker.io/library/nginx", "nginx"],
    ["library/nginx", "nginx"],
    ["ghcr.io/Acme/Web", "acme/web"],
    ["localhost:5000/acme/web", "acme/web"],
    ["localhost/web", "web"],
    ["acme/web", "acme/web"],
  ])("repositoryPath(%s) = %s", (repository, path) => {
    expect(repositoryPath(repository)).toBe(path);
  });

  const segment = fc.stringMatching(/^[a-z0-9]{1,8}$/);
  const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/);
  const ref = fc.record({
    registry: fc.option(fc.tuple(segment, fc.option(fc.integer({ min: 1, max: 65535 }))).map(([h, p]) => `${h}.io${p ? `:${p}` : ""}/`), { nil: undefined }),
    path: fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join("/")),
    tag: fc.option(tag, { nil: undefined }),
    digest: fc.option(fc.stringMatching(/^[a-f0-9]{64}$/).map((d) => `sha256:${d}`), { nil: undefined }),
  });

  it("withImageTag keeps the repository, sets the tag, drops a digest (any reference)", () => {
    fc.assert(
      fc.property(ref, tag, (r, newTag) => {
        const image = `${r.registry ?? ""}${r.path}${r.tag ? `:${r.tag}` : ""}${r.digest ? `@${r.digest}` : ""}`;
        const retagged = withImageTag(image, newTag);
        expect(parseImageRef(retagged)).toEqual({ repository: `${r.registry ?? ""}${r.path}`, tag: newTag });
      }),
    );
  });
});

const spec = (image: string) => ({ name: "web", task: { container: { image }, forceUpdate: 4 } }) as unknown as ServiceSpec;

describe("parseHookTrigger", () => {
  it.each([
    ["no body", { body: undefined }, { kind: "redeploy", source: "plain" }],
    ["{}", { body: {} }, { kind: "redeploy", source: "plain" }],
    ["a tag", { body: { tag: "v2" } }, { kind: "redeploy", source: "plain", tag: "v2" }],
    ["a query tag", { body: undefined, queryTag: "v3" }, { kind: "redeploy", source: "plain", tag: "v3" }],
    ["Docker Hub", { body: { push_data: { tag: "latest" }, repository: { repo_name: "acme/web" } } }, { kind: "redeploy", source: "dockerhub", tag: "latest", repository: "acme/web" }],
    [
      "GitHub package",
      { body: { action: "published", package: { name: "web", namespace: "acme", package_version: { container_metadata: { tag: { name: "1.2" } } } } } },
      { kind: "redeploy", source: "github", tag: "1.2", repository: "acme/web" },
    ],
    ["GitHub ping", { body: { zen: "x" }, githubEvent: "ping" }, { kind: "ignore", source: "github", reason: "GitHub ping" }],
    ["GitHub package without version", { body: { action: "published", package: { name: "web" } } }, { kind: "ignore", source: "github", reason: "an untagged image version" }],
  ] as const)("%s", (_what, input, expected) => {
    expect(parseHookTrigger(input)).toEqual(expected);
  });

  it.each([
    ["a string", { body: "v2" }, "body"],
    ["null", { body: null }, "body"],
    ["a numeric tag", { body: { tag: 2 } }, "body.tag"],
    ["a tag with a slash", { body: { tag: "a/b" } }, "body.tag"],
    ["an unknown field", { body: { tag: "v2", image: "x" } }, "body.image"],
    ["a bad query tag", { body: undefined, queryTag: ".x" }, "query.tag"],
    ["two tags", { body: { tag: "v2" }, queryTag: "v3" }, "query.tag"],
    ["Docker Hub's tag missing", { body: { push_data: {} } }, "body.push_data.tag"],
    ["GitHub's package missing", { body: { action: "published" }, githubEvent: "package" }, "body.package"],
    [
      "GitHub's tag invalid",
      { body: { action: "published", registry_package: { name: "web", package_version: { container_metadata: { tag: { name: "a b" } } } } } },
      "body.registry_package.package_version.container_metadata.tag.name",
    ],
  ] as const)("refuses %s, naming %s", (_what, input, path) => {
    try {
      parseHookTrigger(input);
      expect.unreachable("accepted");
    } catch (err) {
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(400);
      expect((err as ApiError).errors?.map((e) => e.path)).toContain(path);
    }
  });

  it("never throws anything but a 4xx ApiError, whatever the body", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.option(fc.string(), { nil: undefined }), (body, queryTag) => {
        try {
          parseHookTrigger({ body, queryTag });
        } catch (err) {
          expect(err).toBeInstanceOf(ApiError);
          expect((err as ApiError).status).toBe(400);
        }
      }),
    );
  });
});

describe("planRedeploy", () => {
  it("bumps forceUpdate and keeps the image without a tag", () => {
    const planned = planRedeploy(spec("acme/web:1"), { kind: "redeploy", source: "plain" });
    expect(planned.task.forceUpdate).toBe(5);
    expect(planned.task.container.image).toBe("acme/web:1");
  });

  it("sets the tag, and checks a registry's repository against the image's", () => {
    expect(planRedeploy(spec("docker.io/acme/web:1"), { kind: "redeploy", source: "dockerhub", tag: "2", repository: "acme/web" }).task.container.image).toBe("docker.io/acme/web:2");
    expect(planRedeploy(spec("ghcr.io/acme/web:1"), { kind: "redeploy", source: "github", tag: "2", repository: "Acme/web" }).task.container.image).toBe("ghcr.io/acme/web:2");
    expect(() => planRedeploy(spec("ghcr.io/acme/web:1"), { kind: "redeploy", source: "github", tag: "2", repository: "acme/api" })).toThrow(/repository acme\/api/);
  });
});
