import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startShoalCluster, type ShoalCluster } from "./cluster.js";
import { TEST_IMAGE, TEST_IMAGE_REPO, tagTestImage } from "./hosts.js";

/**
 * A webhook trigger redeploys a real service: new containers with the new tag on
 * every host, as a registry push would cause; a wrong token changes nothing.
 */
describe("webhook triggers on real Docker engines", () => {
  let c: ShoalCluster;
  beforeAll(async () => {
    c = await startShoalCluster({ hosts: 2, prefix: "hooks" });
  }, 240_000);
  afterAll(() => c?.stop(), 120_000);

  /** Every shoal container on every host: id, image, state. */
  const containers = async () =>
    (
      await Promise.all(
        c.hosts.hosts.map(async (h) =>
          (await h.docker(["ps", "-a", "--filter", "label=io.shoal.service.name=web", "--format", "{{.ID}} {{.Image}} {{.State}}"]))
            .split("\n")
            .filter(Boolean)
            .map((line) => {
              const [id, image, state] = line.split(" ");
              return { host: h.name, id: id!, image: image!, state: state! };
            }),
        ),
      )
    ).flat();
  const trigger = (token: string, body?: unknown) =>
    fetch(`${c.controlPlane.url}/v1/hooks/${token}`, {
      method: "POST",
      headers: body ? { "content-type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });

  it("POST /v1/hooks/<token> with tag 2 replaces every container with one running :2", async () => {
    const created = await c.api("POST", "/v1/services", {
      name: "web",
      replicas: 2,
      task: { container: { image: TEST_IMAGE, command: ["sleep", "3600"], stopGracePeriodMs: 1000 } },
      update: { parallelism: 0 },
    });
    expect(created.status).toBe(201);
    const before = await c.waitFor("2 running containers", async () => {
      const list = await containers();
      return list.length === 2 && list.every((x) => x.state === "running") ? list : undefined;
    });
    expect(new Set(before.map((x) => x.host)).size).toBe(2);
    await tagTestImage(c.hosts, "2");
    const hook = await c.api("POST", "/v1/services/web/hooks", { name: "registry" });
    expect(hook.status).toBe(201);

    const res = await trigger(hook.body.token, { push_data: { tag: "2", pusher: "ci" }, repository: { repo_name: TEST_IMAGE_REPO } });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ source: "dockerhub", tag: "2", image: `${TEST_IMAGE_REPO}:2` });

    const after = await c.waitFor("2 running :2 containers, the old ones gone", async () => {
      const list = await containers();
      const running = list.filter((x) => x.state === "running");
      return running.length === 2 && running.every((x) => x.image === `${TEST_IMAGE_REPO}:2`) && list.every((x) => x.state === "running" || x.image === TEST_IMAGE)
        ? running
        : undefined;
    });
    expect(after.map((x) => x.id).filter((id) => before.some((b) => b.id === id))).toEqual([]);
    const service = (await c.api("GET", "/v1/services/web")).body;
    expect(service.spec.task).toMatchObject({ forceUpdate: 1, container: { image: `${TEST_IMAGE_REPO}:2` } });
    const [listed] = (await c.api("GET", "/v1/services/web/hooks")).body;
    expect(listed.lastTriggeredAt).toEqual(expect.any(String));
  });

  it("a wrong token gets 404 and nothing happens", async () => {
    const before = await containers();
    const version = (await c.api("GET", "/v1/services/web")).body.version;
    const res = await trigger("shk_this-token-was-never-issued-0000000000000000", { tag: "1" });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    await new Promise((r) => setTimeout(r, 2000));
    expect(await containers()).toEqual(before);
    expect((await c.api("GET", "/v1/services/web")).body.version).toBe(version);
  });
});
