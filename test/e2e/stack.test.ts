import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shoalContainers, startShoalCluster, type ShoalCluster } from "./cluster.js";
import { TEST_IMAGE, TEST_IMAGE_REPO } from "./hosts.js";

/**
 * A multi-service stack deployed over the HTTP API onto two namespaced hosts
 * with real engines: it runs, depends_on holds the web tier until the
 * database is healthy, a redeploy with one image changed replaces only that
 * service's containers, and stack rm removes the stack's containers only.
 */
describe("stacks on real Docker engines", () => {
  let c: ShoalCluster;
  beforeAll(async () => {
    c = await startShoalCluster({ hosts: 2, prefix: "stack" });
    // A second tag of the test image, for the redeploy.
    for (const h of c.hosts.hosts) await h.docker(["tag", TEST_IMAGE, `${TEST_IMAGE_REPO}:2`]);
  }, 240_000);
  afterAll(() => c?.stop(), 120_000);

  const compose = `
version: "3.8"
x-quick-stop: &quick-stop
  stop_grace_period: 1s
services:
  db:
    <<: *quick-stop
    image: ${TEST_IMAGE}
    command: ["sh", "-c", "sleep 1; echo db > /tmp/index.html; exec httpd -f -p 80 -h /tmp"]
    healthcheck:
      test: wget -q -O- http://127.0.0.1/
      interval: 500ms
      retries: 20
  web:
    <<: *quick-stop
    image: ${TEST_IMAGE_REPO}:\${WEB_TAG:?set WEB_TAG}
    command: ["sh", "-c", "echo web > /tmp/index.html; exec httpd -f -p 80 -h /tmp"]
    depends_on:
      db: { condition: service_healthy }
    deploy:
      replicas: 2
      restart_policy: { delay: 0s }
  worker:
    <<: *quick-stop
    image: ${TEST_IMAGE}
    command: ["sleep", "3600"]
    deploy: { mode: global }
`;

  const deploy = (webTag: string) => c.api("PUT", "/v1/stacks/shop", { files: [compose], env: { WEB_TAG: webTag } });
  const containers = async () => (await Promise.all(c.hosts.hosts.map(async (h) => (await shoalContainers(h)).map((x) => ({ ...x, host: h }))))).flat();
  const inspect = async (x: Awaited<ReturnType<typeof containers>>[number]) => JSON.parse(await x.host.docker(["inspect", x.id]))[0];
  const runningCounts = async () => {
    const tasks = (await c.api("GET", "/v1/stacks/shop/tasks")).body as any[];
    const counts: Record<string, number> = {};
    for (const t of tasks) if (t.status.state === "running" && t.desiredState === "running") counts[t.name.split(".")[0]] = (counts[t.name.split(".")[0]] ?? 0) + 1;
    return counts;
  };
  const byService = (list: Awaited<ReturnType<typeof containers>>, service: string) => list.filter((x) => x.name.startsWith(`${service}.`));

  it("deploys the stack: every service runs, web only once db is healthy", async () => {
    await c.api("POST", "/v1/services", { name: "solo", task: { container: { image: TEST_IMAGE, command: ["sleep", "3600"], stopGracePeriodMs: 1000 } } });
    const res = await deploy("1");
    expect(res.status).toBe(200);
    expect(res.body.services.map((s: any) => [s.name, s.action])).toEqual([
      ["shop_db", "created"],
      ["shop_web", "created"],
      ["shop_worker", "created"],
    ]);
    await c.waitFor("the stack running", async () => {
      const counts = await runningCounts();
      return counts.shop_db === 1 && counts.shop_web === 2 && counts.shop_worker === 2;
    });
    const all = await containers();
    expect(all.map((x) => x.name.split(".")[0]).sort()).toEqual(["shop_db", "shop_web", "shop_web", "shop_worker", "shop_worker", "solo"]);
    const db = await inspect(byService(all, "shop_db")[0]!);
    expect(db.Config.Labels["com.docker.stack.namespace"]).toBe("shop");
    // db sleeps 1 s before serving, then must pass its healthcheck: web cannot have started within that second.
    for (const w of byService(all, "shop_web")) {
      const web = await inspect(w);
      expect(Date.parse(web.State.StartedAt) - Date.parse(db.State.StartedAt)).toBeGreaterThan(1000);
      expect(web.Config.Image).toBe(`${TEST_IMAGE_REPO}:1`);
    }
    expect((await c.api("GET", "/v1/stacks")).body).toEqual([{ name: "shop", services: 3 }]);
  });

  it("a redeploy with one image changed replaces only that service's containers", async () => {
    const before = await containers();
    const res = await deploy("2");
    expect(res.body.services.map((s: any) => [s.name, s.action])).toEqual([
      ["shop_db", "unchanged"],
      ["shop_web", "updated"],
      ["shop_worker", "unchanged"],
    ]);
    const after = await c.waitFor("web on image 2", async () => {
      const now = await containers();
      const web = byService(now, "shop_web");
      if (web.length !== 2) return undefined;
      // A container listed a moment ago may be gone by now (the rollout replaces them): look again.
      const images = await Promise.all(web.map(async (w) => (await inspect(w).catch(() => undefined))?.Config.Image));
      return images.every((i) => i === `${TEST_IMAGE_REPO}:2`) && (await runningCounts()).shop_web === 2 ? now : undefined;
    });
    const ids = (list: typeof before, service: string) => byService(list, service).map((x) => x.id).sort();
    for (const service of ["shop_db", "shop_worker", "solo"]) expect(ids(after, service)).toEqual(ids(before, service));
    expect(ids(after, "shop_web").some((id) => ids(before, "shop_web").includes(id))).toBe(false);
  });

  it("stack rm removes the stack's containers and nothing else", async () => {
    expect((await c.api("DELETE", "/v1/stacks/shop")).status).toBe(204);
    await c.waitFor("only solo left", async () => {
      const all = await Promise.all(c.hosts.hosts.map((h) => shoalContainers(h, true)));
      return all.flat().every((x) => x.name.startsWith("solo."));
    });
    expect((await containers()).map((x) => x.name.split(".")[0])).toEqual(["solo"]);
    expect((await c.api("GET", "/v1/services")).body.map((s: any) => s.spec.name)).toEqual(["solo"]);
    expect((await c.api("GET", "/v1/stacks")).body).toEqual([]);
  });
});
