import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { listStackResources } from "../../src/db/stacks.js";
import { createTestApp, joinNode, type TestApp } from "../helpers/app.js";

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(() => t.close());

const admin = () => ({ token: t.tokens.admin });
const classic = readFileSync(new URL("../fixtures/compose/valid/classic.yml", import.meta.url), "utf8");
const deploy = (stack: string, body: Record<string, unknown>) => t.call("PUT", `/v1/stacks/${stack}`, { ...admin(), body });
const services = async () => ((await t.call("GET", "/v1/services", admin())).body as any[]).map((s) => s.spec.name);

const twoServices = (webImage = "busybox:1") => `
version: "3.8"
services:
  web:
    image: ${webImage}
    deploy: { replicas: 2 }
  api:
    image: api:1
`;

describe("stacks API", () => {
  it("deploys the classic stack: services named and labelled, resources recorded, warnings answered", async () => {
    await joinNode(t);
    // Its secret is external: it must exist first.
    expect((await deploy("shop", { files: [classic], env: { SECRET_KEY: "k" } })).body).toMatchObject({
      status: 404,
      detail: "external secret api_key not found; create it first (shoal secret create api_key FILE)",
      errors: [{ path: "secrets.api_key" }],
    });
    expect(await services()).toEqual([]);
    await t.call("POST", "/v1/secrets", { ...admin(), body: { name: "api_key", data: Buffer.from("k").toString("base64") } });
    const res = await deploy("shop", { files: [classic], env: { SECRET_KEY: "k" } });
    expect(res.status).toBe(200);
    expect(res.body.stack).toBe("shop");
    expect(res.body.services.map((s: any) => [s.name, s.action])).toEqual([
      ["shop_web", "created"],
      ["shop_api", "created"],
      ["shop_db", "created"],
      ["shop_monitor", "created"],
    ]);
    expect(res.body.warnings).toEqual(["the API_TAG variable is not set: it stands for an empty string"]);
    expect(res.body.resources.map((r: any) => r.name)).toEqual(["shop_frontend", "shop_backend", "shop_default", "shop_db-data", "api_key"]);
    expect((await listStackResources(t.db, "shop")).map((r) => [r.kind, r.name])).toEqual([
      ["network", "shop_backend"],
      ["network", "shop_default"],
      ["network", "shop_frontend"],
      ["secret", "api_key"],
      ["volume", "shop_db-data"],
    ]);
    const web = (await t.call("GET", "/v1/services/shop_web", admin())).body;
    expect(web.spec).toMatchObject({ labels: { "com.docker.stack.namespace": "shop" }, replicas: 3, dependsOn: ["shop_api"] });

    const ls = await t.call("GET", "/v1/stacks", { token: t.tokens.read });
    expect(ls.body).toEqual([{ name: "shop", services: 4 }]);
    const stackServices = await t.call("GET", "/v1/stacks/shop/services", { token: t.tokens.read });
    expect(stackServices.body.map((s: any) => s.spec.name).sort()).toEqual(["shop_api", "shop_db", "shop_monitor", "shop_web"]);
  });

  it("holds dependent services' tasks pending until their dependencies run", async () => {
    const node = await joinNode(t);
    const chain = `
services:
  db: { image: db:1, healthcheck: { test: ["CMD", "true"] } }
  api: { image: api:1, depends_on: { db: { condition: service_healthy } } }
  web: { image: web:1, depends_on: [api], deploy: { replicas: 3 } }
`;
    await deploy("shop", { files: [chain] });
    const tasks = async () => (await t.call("GET", "/v1/stacks/shop/tasks", { token: t.tokens.read })).body as any[];
    const of = (all: any[], service: string) => all.filter((x) => x.name.startsWith(`${service}.`));
    let all = await tasks();
    expect(of(all, "shop_db").map((x) => x.status.state)).toEqual(["assigned"]);
    expect(of(all, "shop_api").map((x) => x.status)).toMatchObject([{ state: "pending", message: "waiting for shop_db to run (depends_on)" }]);
    expect(of(all, "shop_web")).toHaveLength(3);
    expect(of(all, "shop_web").every((x) => x.status.message === "waiting for shop_api to run (depends_on)")).toBe(true);

    const report = (id: string, state: string) => t.call("POST", "/v1/agent/status", { token: node.credential, body: { updates: [{ taskId: id, state }] } });
    // starting: its healthcheck has not passed yet.
    await report(of(all, "shop_db")[0].id, "starting");
    expect(of(await tasks(), "shop_api")[0].status.state).toBe("pending");
    await report(of(all, "shop_db")[0].id, "running");
    all = await tasks();
    expect(of(all, "shop_api")[0].status).toMatchObject({ state: "assigned", message: "" });
    expect(of(all, "shop_web")[0].status.state).toBe("pending");
    await report(of(all, "shop_api")[0].id, "running");
    expect(of(await tasks(), "shop_web").map((x) => x.status.state)).toEqual(["assigned", "assigned", "assigned"]);
  });

  it("a redeploy updates only the services whose spec changed; prune removes those no longer defined", async () => {
    await joinNode(t);
    await deploy("app", { files: [twoServices()] });
    const before = (await t.call("GET", "/v1/services/app_api", admin())).body;

    const same = await deploy("app", { files: [twoServices()] });
    expect(same.body.services.map((s: any) => s.action)).toEqual(["unchanged", "unchanged"]);

    const changed = await deploy("app", { files: [twoServices("busybox:2")] });
    expect(changed.body.services.map((s: any) => [s.name, s.action])).toEqual([
      ["app_web", "updated"],
      ["app_api", "unchanged"],
    ]);
    expect((await t.call("GET", "/v1/services/app_web", admin())).body).toMatchObject({ version: 2, spec: { task: { container: { image: "busybox:2" } } } });
    expect((await t.call("GET", "/v1/services/app_api", admin())).body.version).toBe(before.version);

    const onlyWeb = `services:\n  web:\n    image: busybox:2\n    deploy: { replicas: 2 }\n`;
    const kept = await deploy("app", { files: [onlyWeb] });
    expect(kept.body.services.map((s: any) => s.action)).toEqual(["unchanged"]);
    expect(await services()).toEqual(["app_api", "app_web"]);
    const pruned = await deploy("app", { files: [onlyWeb], prune: true });
    expect(pruned.body.services.map((s: any) => [s.name, s.action])).toEqual([
      ["app_api", "removed"],
      ["app_web", "unchanged"],
    ]);
    expect(await services()).toEqual(["app_web"]);
    const events = await t.call("GET", "/v1/events?type=stack", admin());
    expect(events.body.events.map((e: any) => [e.action, e.actor.id, e.actor.attributes])).toEqual([
      ["deploy", "app", { created: "2" }],
      ["deploy", "app", { unchanged: "2" }],
      ["deploy", "app", { updated: "1", unchanged: "1" }],
      ["deploy", "app", { unchanged: "1" }],
      ["deploy", "app", { removed: "1", unchanged: "1" }],
    ]);
  });

  it("keeps an auto-assigned ingress port across redeploys (unchanged)", async () => {
    const file = `services:\n  web:\n    image: busybox:1\n    ports: ["80"]\n`;
    await deploy("p", { files: [file] });
    const port = (await t.call("GET", "/v1/services/p_web", admin())).body.spec.endpoint.ports[0].publishedPort;
    expect(port).toBeGreaterThanOrEqual(30000);
    expect((await deploy("p", { files: [file] })).body.services[0].action).toBe("unchanged");
  });

  it("stack rm removes everything of the stack and nothing else", async () => {
    await joinNode(t);
    await t.call("POST", "/v1/services", { ...admin(), body: { name: "solo", task: { container: { image: "busybox:1" } } } });
    await deploy("a", { files: [twoServices()] });
    await deploy("b", { files: [twoServices()] });
    const rm = await t.call("DELETE", "/v1/stacks/a", admin());
    expect(rm.status).toBe(204);
    expect(await services()).toEqual(["b_api", "b_web", "solo"]);
    expect(await listStackResources(t.db, "a")).toEqual([]);
    expect((await listStackResources(t.db, "b")).length).toBe(1);
    const tasks = (await t.call("GET", "/v1/tasks?desired-state=running", admin())).body as any[];
    expect(tasks.some((x) => x.name.startsWith("a_"))).toBe(false);
    expect((await t.call("DELETE", "/v1/stacks/a", admin())).status).toBe(404);
    expect((await t.call("GET", "/v1/stacks/a/services", admin())).status).toBe(404);
    expect((await t.call("GET", "/v1/stacks", admin())).body).toEqual([{ name: "b", services: 2 }]);
    const removed = await t.call("GET", "/v1/events?event=stack.remove", admin());
    expect(removed.body.events).toHaveLength(1);
  });

  it("refuses an invalid file with every path, and writes nothing", async () => {
    const bad = `version: "3.8"\nservices:\n  web:\n    image: nginx\n    deploy:\n      replocas: 3\n  db:\n    image: \${DB_IMAGE:?set DB_IMAGE}\n`;
    const res = await deploy("shop", { files: [bad] });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      code: "validation_failed",
      detail:
        "invalid compose file: services.db.image: invalid interpolation: required variable DB_IMAGE is missing a value: set DB_IMAGE; services.web.deploy.replocas: unknown key; did you mean replicas?",
      errors: [
        { path: "services.db.image", message: "invalid interpolation: required variable DB_IMAGE is missing a value: set DB_IMAGE" },
        { path: "services.web.deploy.replocas", message: "unknown key; did you mean replicas?" },
      ],
    });
    expect(await services()).toEqual([]);
    expect(await listStackResources(t.db)).toEqual([]);
  });

  it("answers 400 naming the limit for an environment value nested 5,000 deep as ${A:-${A:-…}} (issue 19), and writes nothing", async () => {
    const nested = `${"${A:-".repeat(5000)}x${"}".repeat(5000)}`;
    const deep = await deploy("deep", { files: [`services:\n  web:\n    image: busybox:1\n    environment:\n      X: "${nested}"\n`] });
    expect(deep.status).toBe(400);
    expect(deep.body).toMatchObject({ code: "validation_failed", errors: [{ path: "services.web.environment.X", message: expect.stringContaining("defaults nest more than 32 levels deep") }] });
    expect(deep.body.detail).toMatch(/the limit is 32$/);
    expect(deep.text.length).toBeLessThan(1000);
    expect(await services()).toEqual([]);
    expect(await listStackResources(t.db)).toEqual([]);
    expect(t.errors).toEqual([]);
    expect((await t.call("GET", "/healthz")).status).toBe(200);
  });

  it("answers 400 naming the cycle for a self-referential alias (x-a: &a / b: *a) beside valid services (issue 19), and writes nothing", async () => {
    const cyclic = await deploy("cyclic", { files: ["x-a: &a\n  b: *a\nservices:\n  web:\n    image: busybox:1\n"] });
    expect(cyclic.status).toBe(400);
    expect(cyclic.body).toMatchObject({
      code: "validation_failed",
      errors: [{ path: "file", message: "the alias *a (line 2) is inside the node anchored &a: the document would contain itself, and cyclic YAML is not accepted" }],
    });
    expect(await services()).toEqual([]);
    expect(await listStackResources(t.db)).toEqual([]);
    expect(t.errors).toEqual([]);
    expect((await t.call("GET", "/healthz")).status).toBe(200);
  });

  it("a published port clash anywhere in the files writes nothing, not half the stack", async () => {
    await t.call("POST", "/v1/services", { ...admin(), body: { name: "solo", task: { container: { image: "busybox:1" } }, endpoint: { ports: [{ targetPort: 80, publishedPort: 8080 }] } } });
    const file = `services:\n  a:\n    image: busybox:1\n  b:\n    image: busybox:1\n    ports: ["8080:80"]\n`;
    const res = await deploy("clash", { files: [file] });
    expect(res.status).toBe(409);
    expect(res.body.errors).toEqual([{ path: "services.b.ports", message: "port 8080/tcp is already published by service solo" }]);
    expect(await services()).toEqual(["solo"]);
    const twice = `services:\n  a:\n    image: busybox:1\n    ports: ["9090:80"]\n  b:\n    image: busybox:1\n    ports: ["9090:80"]\n`;
    expect((await deploy("clash", { files: [twice] })).body.errors).toEqual([
      { path: "services.b.ports", message: "port 9090/tcp is already published by service clash_a" },
    ]);
    expect(await services()).toEqual(["solo"]);
  });

  it("refuses to take over a service outside the stack, or to change a service's mode", async () => {
    await t.call("POST", "/v1/services", { ...admin(), body: { name: "app_web", task: { container: { image: "busybox:1" } } } });
    const taken = await deploy("app", { files: [twoServices()] });
    expect(taken.status).toBe(409);
    expect(taken.body.errors).toEqual([{ path: "services.web", message: "app_web belongs to no stack or another one" }]);
    expect(await services()).toEqual(["app_web"]);

    await deploy("m", { files: ["services:\n  x:\n    image: busybox:1\n"] });
    const global = await deploy("m", { files: ["services:\n  x:\n    image: busybox:1\n    deploy: { mode: global }\n"] });
    expect(global.status).toBe(400);
    expect(global.body.errors).toEqual([{ path: "services.x.deploy.mode", message: "must stay replicated" }]);
  });

  it("interpolates with the env sent, merges several files and reads env files", async () => {
    const base = "services:\n  web:\n    image: busybox:${TAG}\n    env_file: web.env\n";
    const override = "services:\n  web:\n    environment: [B=2]\n";
    const res = await deploy("e", { files: [base, override], env: { TAG: "9" }, envFiles: { "web.env": "A=1\n" } });
    expect(res.status).toBe(200);
    expect((await t.call("GET", "/v1/services/e_web", admin())).body.spec.task.container).toMatchObject({ image: "busybox:9", env: ["A=1", "B=2"] });
  });

  it("validates the request itself", async () => {
    expect((await deploy("bad name", { files: ["x"] })).status).toBe(400);
    const noFiles = await deploy("s", { files: [] });
    expect(noFiles.body.errors).toEqual([{ path: "body.files", message: "at least one compose file" }]);
    const relative = await deploy("s", { files: ["services: {}"], workingDir: "app" });
    expect(relative.body.errors[0].path).toBe("body.workingDir");
  });

  describe("secrets and configs", () => {
    const b64 = (text: string) => Buffer.from(text).toString("base64");
    const app = (secretFile = "./db_pw.txt") => `
services:
  web:
    image: busybox:1
    secrets:
      - db_pw
      - source: api_key
        target: keys/api
        uid: "1000"
        gid: "1001"
        mode: 0o400
    configs:
      - app_conf
      - source: app_conf
        target: /etc/app.conf
        mode: 0o640
secrets:
  db_pw: { file: ${secretFile}, labels: { team: a } }
  api_key: { external: true }
configs:
  app_conf: { file: conf/app.conf }
`;
    const files = (pw = "hunter2") => ({ "./db_pw.txt": b64(pw), "conf/app.conf": b64("port = 80\n") });
    const list = async (kind: "secrets" | "configs") => ((await t.call("GET", `/v1/${kind}`, admin())).body as any[]).map((o) => o.name);
    const dump = async () => JSON.stringify([await services(), await list("secrets"), await list("configs"), await listStackResources(t.db)]);

    it("creates the stack's own from the files sent, labelled; services refer to them in short and long form", async () => {
      await t.call("POST", "/v1/secrets", { ...admin(), body: { name: "api_key", data: b64("k3y") } });
      const res = await deploy("shop", { files: [app()], objectFiles: files() });
      expect(res.status, res.text).toBe(200);
      expect(res.text).not.toContain(b64("hunter2"));
      expect(await list("secrets")).toEqual(["api_key", "shop_db_pw"]);
      expect(await list("configs")).toEqual(["shop_app_conf"]);
      const secret = (await t.call("GET", "/v1/secrets/shop_db_pw", admin())).body;
      expect(secret).toMatchObject({ labels: { team: "a", "com.docker.stack.namespace": "shop" }, size: 7, services: ["shop_web"] });
      expect((await t.call("GET", "/v1/configs/shop_app_conf", admin())).body.data).toBe(b64("port = 80\n"));
      const web = (await t.call("GET", "/v1/services/shop_web", admin())).body;
      expect(web.spec.task.secrets).toEqual([
        { source: "shop_db_pw", id: secret.id, target: "/run/secrets/db_pw", uid: 0, gid: 0, mode: 0o444 },
        expect.objectContaining({ source: "api_key", target: "/run/secrets/keys/api", uid: 1000, gid: 1001, mode: 0o400 }),
      ]);
      expect(web.spec.task.configs).toEqual([
        expect.objectContaining({ source: "shop_app_conf", target: "/app_conf", mode: 0o444 }),
        expect.objectContaining({ source: "shop_app_conf", target: "/etc/app.conf", mode: 0o640 }),
      ]);
      // The same files again: nothing changes.
      const again = await deploy("shop", { files: [app()], objectFiles: files() });
      expect(again.body.services).toEqual([expect.objectContaining({ name: "shop_web", action: "unchanged" })]);

      // stack rm removes the stack's own, never the external one.
      expect((await t.call("DELETE", "/v1/stacks/shop", admin())).status).toBe(204);
      expect(await list("secrets")).toEqual(["api_key"]);
      expect(await list("configs")).toEqual([]);
    });

    it("a changed file for the same name is a 400 naming the secret, nothing written; under a new name it deploys", async () => {
      await t.call("POST", "/v1/secrets", { ...admin(), body: { name: "api_key", data: b64("k3y") } });
      expect((await deploy("shop", { files: [app()], objectFiles: files() })).status).toBe(200);
      const before = await dump();
      const changed = await deploy("shop", { files: [app()], objectFiles: files("rotated") });
      expect(changed.status).toBe(400);
      expect(changed.body.errors).toEqual([{ path: "secrets.db_pw.file", message: expect.stringContaining("secret shop_db_pw exists with other contents than ./db_pw.txt: only updates to labels are allowed") }]);
      expect(changed.text).not.toContain(b64("rotated"));
      expect(await dump()).toBe(before);
      // Rotate by name: a new key (or name:) is a new secret, and the service moves to it.
      const rotated = app().replace("- db_pw", "- source: db_pw_v2\n        target: db_pw").replace("  db_pw: {", "  db_pw_v2: {");
      const res = await deploy("shop", { files: [rotated], objectFiles: files("rotated") });
      expect(res.status, res.text).toBe(200);
      expect(res.body.services[0].action).toBe("updated");
      expect(await list("secrets")).toEqual(["api_key", "shop_db_pw", "shop_db_pw_v2"]);
    });

    it("bad input is a clear 4xx naming the field, and nothing is written", async () => {
      await t.call("POST", "/v1/secrets", { ...admin(), body: { name: "api_key", data: b64("k3y") } });
      await t.call("POST", "/v1/secrets", { ...admin(), body: { name: "taken_db_pw", data: b64("x") } });
      const before = await dump();
      const noFile = app().replace("db_pw: { file: ./db_pw.txt, labels: { team: a } }", "db_pw: { labels: { team: a } }");
      for (const [body, status, path, message] of [
        [{ files: [app()] }, 400, "secrets.db_pw.file", /the contents of \.\/db_pw\.txt were not sent/],
        [{ files: [app()], objectFiles: { ...files(), "./db_pw.txt": "not base64!" } }, 400, "secrets.db_pw.file", /must be base64/],
        [{ files: [app()], objectFiles: { ...files(), "./db_pw.txt": "" } }, 400, "secrets.db_pw.file", /from 1 byte to 512000 bytes/],
        [{ files: [noFile], objectFiles: files() }, 400, "secrets.db_pw", /give the secret's contents with file:/],
        [{ files: [app().replace("api_key: { external: true }", "api_key: { external: true, name: nowhere }")], objectFiles: files() }, 404, "secrets.api_key", /external secret nowhere not found/],
        [{ files: [app().replace("labels: { team: a } }", "name: taken_db_pw }")], objectFiles: files() }, 409, "secrets.db_pw", /secret taken_db_pw exists and is not part of stack shop/],
        [{ files: [app().replace("uid: \"1000\"", "uid: root")], objectFiles: files() }, 400, "services.web.secrets.1.uid", /a numeric user id/],
        [{ files: [app().replace("- app_conf\n", "- nope\n")], objectFiles: files() }, 400, "services.web.configs.0", /config nope is not declared/],
        [{ files: [app().replace("target: keys/api", "target: ../etc/shadow")], objectFiles: files() }, 400, "services.web.secrets.1.target", /without '\.', '\.\.'/],
        [{ files: [app().replace("app_conf: { file: conf/app.conf }", "app_conf: { file: conf/app.conf, template_driver: golang }")], objectFiles: files() }, 400, "configs.app_conf.template_driver", /not supported/],
      ] as const) {
        const res = await deploy("shop", body);
        expect(res.status, res.text).toBe(status);
        expect(res.body.detail).toMatch(message);
        expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
        expect(await dump()).toBe(before);
      }
    });
  });
});
