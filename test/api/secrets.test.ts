import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readFileObject } from "../../src/http/file-object-data.js";
import { findFileObjectsByRef } from "../../src/db/file-objects.js";
import { captureLogs, createTestApp, joinNode, type TestApp } from "../helpers/app.js";

let t: TestApp;
let logged: string[];
beforeEach(async () => {
  t = await createTestApp();
  logged = captureLogs(t);
});
afterEach(() => t.close());

const admin = () => ({ token: t.tokens.admin });
const b64 = (s: string) => Buffer.from(s).toString("base64");
const plain = "correct horse battery staple";
const create = (kind: "secrets" | "configs", body: Record<string, unknown>) => t.call("POST", `/v1/${kind}`, { ...admin(), body });
const createService = (task: Record<string, unknown>, name = "web") =>
  t.call("POST", "/v1/services", { ...admin(), body: { name, task: { container: { image: "busybox:1" }, ...task } } });
const dump = async () => {
  const out: unknown[] = [];
  for (const table of ["file_objects", "events", "services"]) out.push((await t.client.execute(`SELECT * FROM ${table} ORDER BY rowid`)).rows);
  return JSON.stringify(out);
};

describe("secrets and configs API", () => {
  it("a secret is stored sealed and never answered; a config's data is", async () => {
    const res = await create("secrets", { name: "db_pw", data: b64(plain), labels: { team: "a" } });
    expect(res.status, res.text).toBe(201);
    expect(res.body).toMatchObject({ name: "db_pw", size: plain.length, labels: { team: "a" }, services: [] });
    expect(res.body.id).toMatch(/^sec_/);
    expect(res.body).not.toHaveProperty("data");
    const inspect = await t.call("GET", `/v1/secrets/${res.body.id.slice(0, 8)}`, admin());
    expect(inspect.status).toBe(200);
    expect(inspect.body).not.toHaveProperty("data");

    const [row] = await findFileObjectsByRef(t.db, "secret", "db_pw");
    expect(new TextDecoder().decode(await readFileObject(t.deps, row!))).toBe(plain);
    // Nowhere in plain text or its base64: not in the rows, the events, any answer or log line, nor the database file.
    const answers = [res.text, inspect.text, (await t.call("GET", "/v1/secrets", admin())).text, (await t.call("GET", "/v1/events", admin())).text];
    const dbFile = String((await t.client.execute("PRAGMA database_list")).rows[0]!.file);
    const file = readFileSync(dbFile, "latin1");
    for (const text of [await dump(), ...answers, ...logged, file]) {
      expect(text).not.toContain(plain);
      expect(text).not.toContain(b64(plain));
    }
    const events = (await t.call("GET", "/v1/events?type=secret", admin())).body.events;
    expect(events).toEqual([expect.objectContaining({ type: "secret", action: "create", actor: { id: res.body.id, attributes: { name: "db_pw" } } })]);

    const config = await create("configs", { name: "app.conf", data: b64("port = 80\n") });
    expect(config.status, config.text).toBe(201);
    expect(config.body.id).toMatch(/^cfg_/);
    expect((await t.call("GET", "/v1/configs/app.conf", admin())).body.data).toBe(b64("port = 80\n"));
    // Secrets and configs have names of their own.
    expect((await create("configs", { name: "db_pw", data: b64("x") })).status).toBe(201);
  });

  it("bad input is a 4xx naming the field, and nothing is written", async () => {
    expect((await create("secrets", { name: "taken", data: b64("1") })).status).toBe(201);
    const before = await dump();
    for (const [body, status, path, message] of [
      [{ name: "taken", data: b64("2") }, 409, "body.name", /a secret named taken already exists/],
      [{ name: "big", data: Buffer.alloc(500 * 1024 + 1).toString("base64") }, 400, "body.data", /from 1 byte to 512000 bytes \(500 KiB\), not 512001/],
      [{ name: "huge", data: "A".repeat(700_000) }, 400, "body.data", /at most 512000 bytes/],
      [{ name: "empty", data: "" }, 400, "body.data", /not 0/],
      [{ name: "junk", data: "not base64!" }, 400, "body.data", /base64/],
      [{ name: "-dash", data: b64("x") }, 400, "body.name", /a secret name/],
      [{ name: "x".repeat(65), data: b64("x") }, 400, "body.name", /a secret name/],
      [{ name: "nodata" }, 400, "body.data", /required/],
    ] as const) {
      const res = await create("secrets", body);
      expect(res.status, res.text).toBe(status);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(res.body.detail).toMatch(message);
      expect(res.body.errors?.map((e: { path: string }) => e.path)).toContain(path);
    }
    expect((await create("secrets", { name: "max", data: Buffer.alloc(500 * 1024, 7).toString("base64") })).status).toBe(201);
    await t.call("DELETE", "/v1/secrets/max", admin());
    const after = JSON.parse(await dump()) as unknown[][];
    const was = JSON.parse(before) as unknown[][];
    expect(after[0]).toEqual(was[0]);
    expect(after[2]).toEqual(was[2]);
  });

  it("ls filters as docker's: id prefix, name prefix, exact names, labels", async () => {
    const a = (await create("secrets", { name: "app_key", data: b64("1"), labels: { env: "prod" } })).body;
    await create("secrets", { name: "app_cert", data: b64("2"), labels: { env: "dev" } });
    await create("secrets", { name: "other", data: b64("3") });
    const names = async (query: string) => (await t.call("GET", `/v1/secrets${query}`, admin())).body.map((s: { name: string }) => s.name);
    expect(await names("")).toEqual(["app_cert", "app_key", "other"]);
    expect(await names("?name=app")).toEqual(["app_cert", "app_key"]);
    expect(await names("?names=app")).toEqual([]);
    expect(await names("?names=other&names=app_key")).toEqual(["app_key", "other"]);
    expect(await names("?label=env=prod")).toEqual(["app_key"]);
    expect(await names("?label=env")).toEqual(["app_cert", "app_key"]);
    expect(await names(`?id=${a.id.slice(0, 10)}`)).toEqual(["app_key"]);
    expect((await t.call("GET", "/v1/secrets?bogus=1", admin())).status).toBe(400);
    expect((await t.call("GET", "/v1/secrets/nope", admin())).status).toBe(404);
  });

  it("services refer to them by name or id, stored as both, with Docker's defaults", async () => {
    const secret = (await create("secrets", { name: "db_pw", data: b64(plain) })).body;
    const config = (await create("configs", { name: "nginx.conf", data: b64("worker_processes 1;") })).body;
    const res = await createService({
      secrets: [{ source: "db_pw" }, { source: secret.id, target: "other/pw", uid: 33, gid: 44, mode: 0o400 }],
      configs: [{ source: "nginx.conf" }, { source: "nginx.conf", target: "/etc/nginx/nginx.conf", mode: 0o440 }],
    });
    expect(res.status, res.text).toBe(201);
    expect(res.body.spec.task.secrets).toEqual([
      { source: "db_pw", id: secret.id, target: "/run/secrets/db_pw", uid: 0, gid: 0, mode: 0o444 },
      { source: "db_pw", id: secret.id, target: "/run/secrets/other/pw", uid: 33, gid: 44, mode: 0o400 },
    ]);
    expect(res.body.spec.task.configs).toEqual([
      { source: "nginx.conf", id: config.id, target: "/nginx.conf", uid: 0, gid: 0, mode: 0o444 },
      { source: "nginx.conf", id: config.id, target: "/etc/nginx/nginx.conf", uid: 0, gid: 0, mode: 0o440 },
    ]);
    expect(res.text).not.toContain(b64(plain));
    expect((await t.call("GET", "/v1/secrets/db_pw", admin())).body.services).toEqual(["web"]);

    // In use: rm is refused, and nothing is removed.
    const rm = await t.call("DELETE", "/v1/secrets/db_pw", admin());
    expect(rm.status).toBe(409);
    expect(rm.body.detail).toBe("secret db_pw is in use by service web");
    expect((await t.call("DELETE", "/v1/configs/nginx.conf", admin())).status).toBe(409);
    expect((await t.call("GET", "/v1/secrets/db_pw", admin())).status).toBe(200);
    expect((await t.call("DELETE", "/v1/services/web", admin())).status).toBe(204);
    expect((await t.call("DELETE", "/v1/secrets/db_pw", admin())).status).toBe(204);
    expect((await t.call("DELETE", "/v1/configs/nginx.conf", admin())).status).toBe(204);
    expect((await t.call("GET", "/v1/events?type=secret&type=config", admin())).body.events.map((e: { type: string; action: string }) => `${e.type} ${e.action}`)).toEqual([
      "secret create",
      "config create",
      "secret remove",
      "config remove",
    ]);
  });

  it("a reference to nothing, a target outside the container or clashing with another is refused, nothing written", async () => {
    await create("secrets", { name: "pw", data: b64("x") });
    await create("configs", { name: "conf", data: b64("y") });
    const before = await dump();
    for (const [task, status, path, message] of [
      [{ secrets: [{ source: "missing" }] }, 404, "body.task.secrets.0.source", /secret missing not found/],
      [{ configs: [{ source: "pw" }] }, 404, "body.task.configs.0.source", /config pw not found/],
      [{ secrets: [{ source: "pw", target: "../../etc/shadow" }] }, 400, "body.task.secrets.0.target", /under \/run\/secrets without '\.', '\.\.'/],
      [{ secrets: [{ source: "pw", target: "/etc/pw" }] }, 400, "body.task.secrets.0.target", /under \/run\/secrets/],
      [{ configs: [{ source: "conf", target: "/etc/../../x" }] }, 400, "body.task.configs.0.target", /without '\.', '\.\.' or empty parts/],
      [{ configs: [{ source: "conf", target: "/etc/" }] }, 400, "body.task.configs.0.target", /empty parts/],
      [{ secrets: [{ source: "pw" }, { source: "pw", target: "/run/secrets/pw" }] }, 400, "body.task.secrets.1.target", /\/run\/secrets\/pw is the target of secrets\.0 already/],
      [{ secrets: [{ source: "pw", target: "/run/secrets/conf" }], configs: [{ source: "conf", target: "/run/secrets/conf" }] }, 400, "body.task.configs.0.target", /the target of secrets\.0/],
      [{ container: { image: "busybox:1", mounts: [{ target: "/etc" }] }, configs: [{ source: "conf", target: "/etc/app.conf" }] }, 400, "body.task.configs.0.target", /clashes with the mount at \/etc \(container\.mounts\.0\)/],
      [{ container: { image: "busybox:1", mounts: [{ type: "tmpfs", target: "/run/secrets" }] }, secrets: [{ source: "pw" }] }, 400, "body.task.container.mounts.0.target", /\/run\/secrets holds the service's secrets/],
      [{ secrets: [{ source: "pw" }], configs: [{ source: "conf", target: "/run/secrets/app.conf" }] }, 400, "body.task.configs.0.target", /clashes with \/run\/secrets, where the service's secrets are mounted/],
      [{ secrets: [{ source: "pw", target: "a" }, { source: "pw", target: "a/b" }] }, 400, "body.task.secrets.1.target", /\/run\/secrets\/a\/b is inside \/run\/secrets\/a, the target of secrets\.0/],
      [{ secrets: [{ source: "pw", mode: 0o1777 }] }, 400, "body.task.secrets.0.mode", /from 0 to 511/],
      [{ secrets: [{ source: "pw", uid: -1 }] }, 400, "body.task.secrets.0.uid", /a user id/],
    ] as const) {
      const res = await createService(task as Record<string, unknown>);
      expect(res.status, res.text).toBe(status);
      expect(res.body.detail).toMatch(message);
      expect(res.body.errors?.map((e: { path: string }) => e.path)).toContain(path);
    }
    expect(await dump()).toBe(before);
  });
});

describe("delivery in the assignment long-poll", () => {
  const poll = async (credential: string) => t.call("GET", "/v1/agent/assignments?since=-1&waitMs=0", { token: credential });

  it("a node gets the secrets and configs of its own tasks only, and only while they are to run", async () => {
    const a = await joinNode(t);
    const b = await joinNode(t);
    const secret = (await create("secrets", { name: "db_pw", data: b64(plain) })).body;
    const config = (await create("configs", { name: "app.conf", data: b64("port = 80\n") })).body;
    await create("secrets", { name: "unused", data: b64("never sent anywhere") });
    const res = await createService({
      secrets: [{ source: "db_pw", target: "db/password", uid: 1000, gid: 1001, mode: 0o400 }],
      configs: [{ source: "app.conf" }],
      placement: { constraints: [`node.id==${a.id}`] },
    });
    expect(res.status, res.text).toBe(201);
    await createService({ placement: { constraints: [`node.id==${b.id}`] } }, "other");

    const mine = await poll(a.credential);
    expect(mine.body.tasks).toHaveLength(1);
    expect(mine.body.tasks[0]).toMatchObject({
      serviceName: "web",
      secrets: [{ id: secret.id, name: "db_pw", data: b64(plain) }],
      configs: [{ id: config.id, name: "app.conf", data: b64("port = 80\n") }],
      spec: { task: { secrets: [{ source: "db_pw", id: secret.id, target: "/run/secrets/db/password", uid: 1000, gid: 1001, mode: 0o400 }] } },
    });
    const theirs = await poll(b.credential);
    expect(theirs.body.tasks.map((x: { serviceName: string }) => x.serviceName)).toEqual(["other"]);
    expect(theirs.body.tasks[0]).toMatchObject({ secrets: [], configs: [] });
    for (const text of [theirs.text, mine.text]) expect(text).not.toContain(b64("never sent anywhere"));
    expect(theirs.text).not.toContain(b64(plain));
    expect(theirs.text).not.toContain(plain);

    // Scaled to 0, the task is to stop: its assignment no longer carries the value.
    expect((await t.call("POST", "/v1/services/scale", { ...admin(), body: { services: { web: 0 } } })).status).toBe(200);
    const stopping = await poll(a.credential);
    expect(stopping.body.tasks.every((x: { desiredState: string; secrets: unknown[] }) => x.desiredState !== "running" && x.secrets.length === 0)).toBe(true);
    expect(stopping.text).not.toContain(b64(plain));
    // Nothing of it in events or log lines either.
    for (const text of [(await t.call("GET", "/v1/events", admin())).text, ...logged]) {
      expect(text).not.toContain(plain);
      expect(text).not.toContain(b64(plain));
    }
  });
});
