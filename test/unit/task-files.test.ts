import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { extract } from "tar-stream";
import { afterEach, describe, expect, it } from "vitest";
import { containerCreateBody } from "../../agent/src/container-spec.js";
import { TaskController } from "../../agent/src/controller.js";
import { planTaskFiles, SecretFiles, tarFiles } from "../../agent/src/task-files.js";
import { Worker } from "../../agent/src/worker.js";
import { silentLogger } from "../helpers/app.js";
import { filesToDeliver } from "../../src/dispatcher/file-delivery.js";
import { taskSpecOf } from "../../src/domain/task-spec.js";
import { fixtureAssignment, recordingReport } from "../helpers/agent-fixtures.js";
import { fixtureSpec } from "../helpers/cluster-fixtures.js";
import { FakeEngine } from "../helpers/fake-engine.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const task = {
  container: { image: "busybox:1" },
  secrets: [{ source: "db_pw", id: "sec_1", target: "db/password", uid: 1000, gid: 1001, mode: 0o400 }, { source: "api_key", id: "sec_2" }],
  configs: [{ source: "app.conf", id: "cfg_1", mode: 0o640, uid: 33 }],
};
const delivered = {
  secrets: [
    { id: "sec_1", name: "db_pw", data: b64("hunter2") },
    { id: "sec_2", name: "api_key", data: b64("k3y") },
  ],
  configs: [{ id: "cfg_1", name: "app.conf", data: b64("port = 80\n") }],
};
const withFiles = (id = "task_1") => fixtureAssignment(id, { task }, delivered);

/** The entries of a tar archive: name, type, owner, mode and content. */
async function entries(tar: Buffer) {
  const out: { name: string; type: string | null | undefined; uid: number; gid: number; mode: number; data: string }[] = [];
  const x = extract();
  x.on("entry", (h, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on("data", (c) => chunks.push(c as Buffer));
    stream.on("end", () => {
      out.push({ name: h.name, type: h.type, uid: h.uid ?? -1, gid: h.gid ?? -1, mode: h.mode ?? -1, data: Buffer.concat(chunks).toString() });
      next();
    });
  });
  const done = new Promise<void>((resolve, reject) => (x.on("finish", () => resolve()), x.on("error", reject)));
  x.end(tar);
  await done;
  return out;
}

describe("which secrets and configs go to a node", () => {
  const spec = taskSpecOf(fixtureSpec({ name: "web", task }));
  it.each([
    ["running", "assigned", true],
    ["running", "preparing", true],
    ["running", "running", true],
    ["ready", "ready", true],
    ["running", "failed", false],
    ["running", "complete", false],
    ["shutdown", "running", false],
    ["shutdown", "assigned", false],
    ["remove", "running", false],
  ] as const)("desired %s, state %s: delivered %s", (desiredState, state, expected) => {
    const got = filesToDeliver({ desiredState, state }, spec);
    expect(got).toEqual(expected ? { secretIds: ["sec_1", "sec_2"], configIds: ["cfg_1"] } : { secretIds: [], configIds: [] });
  });

  it("a task whose spec refers to none gets none", () => {
    expect(filesToDeliver({ desiredState: "running", state: "assigned" }, taskSpecOf(fixtureSpec({ name: "web" })))).toEqual({ secretIds: [], configIds: [] });
  });
});

describe("task files on the agent", () => {
  it("plans each reference with its bytes, owner and mode (default 0444, root)", () => {
    const { secrets, configs } = planTaskFiles(withFiles());
    expect(secrets.map((f) => ({ ...f, data: f.data.toString() }))).toEqual([
      { target: "/run/secrets/db/password", data: "hunter2", uid: 1000, gid: 1001, mode: 0o400 },
      { target: "/run/secrets/api_key", data: "k3y", uid: 0, gid: 0, mode: 0o444 },
    ]);
    expect(configs.map((f) => ({ ...f, data: f.data.toString() }))).toEqual([{ target: "/app.conf", data: "port = 80\n", uid: 33, gid: 0, mode: 0o640 }]);
  });

  it("a reference whose object was not delivered fails the plan, naming it", () => {
    expect(() => planTaskFiles(fixtureAssignment("task_1", { task }, { ...delivered, secrets: delivered.secrets.slice(1) }))).toThrow(/secret db_pw \(sec_1\) was not delivered/);
  });

  it("a tar archive has one file entry per file, named from /, with its owner, mode and bytes, and no directory entries", async () => {
    const tar = await tarFiles([
      { target: "/etc/app/app.conf", data: Buffer.from("a=1\n"), uid: 33, gid: 34, mode: 0o640 },
      { target: "/x", data: Buffer.alloc(0), uid: 0, gid: 0, mode: 0o444 },
      { target: `/${"d".repeat(120)}/long-name.conf`, data: Buffer.from("long"), uid: 1, gid: 2, mode: 0o600 },
    ]);
    expect(await entries(tar)).toEqual([
      { name: "etc/app/app.conf", type: "file", uid: 33, gid: 34, mode: 0o640, data: "a=1\n" },
      { name: "x", type: "file", uid: 0, gid: 0, mode: 0o444, data: "" },
      { name: `${"d".repeat(120)}/long-name.conf`, type: "file", uid: 1, gid: 2, mode: 0o600, data: "long" },
    ]);
  });

  it("the container gets the task's secrets directory read-only at /run/secrets, and no other mount for them", () => {
    const body = containerCreateBody(withFiles(), "node_1", [], "/dev/shm/s/task_1");
    expect(body.HostConfig?.Mounts).toEqual([{ Type: "bind", Source: "/dev/shm/s/task_1", Target: "/run/secrets", ReadOnly: true }]);
    expect(containerCreateBody(fixtureAssignment("task_1"), "node_1").HostConfig?.Mounts).toEqual([]);
  });
});

describe("secrets in memory", () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
  const shmDir = () => {
    const d = mkdtempSync("/dev/shm/shoal-test-");
    dirs.push(d);
    return join(d, "secrets");
  };

  it("writes each secret with its owner and mode under the task's directory, and removes them all", async () => {
    const store = new SecretFiles(shmDir());
    const root = await store.write("task_1", planTaskFiles(withFiles()).secrets);
    expect(root).toBe(join(store.dir, "task_1"));
    const pw = statSync(join(root, "db/password"));
    expect([pw.uid, pw.gid, pw.mode & 0o7777]).toEqual([1000, 1001, 0o400]);
    expect(readFileSync(join(root, "db/password"), "utf8")).toBe("hunter2");
    expect(statSync(join(root, "api_key")).mode & 0o7777).toBe(0o444);
    expect(statSync(store.dir).mode & 0o777).toBe(0o700);
    await store.remove("task_1");
    expect(existsSync(root)).toBe(false);
  });

  it("prune keeps the tasks named and removes the others", async () => {
    const store = new SecretFiles(shmDir());
    await store.write("task_1", planTaskFiles(withFiles()).secrets);
    await store.write("task_2", planTaskFiles(withFiles("task_2")).secrets);
    await store.prune(new Set(["task_2"]));
    expect(existsSync(store.taskDir("task_1"))).toBe(false);
    expect(existsSync(store.taskDir("task_2"))).toBe(true);
  });

  it("refuses a directory that is not on a tmpfs, writing nothing", async () => {
    const d = mkdtempSync(join(tmpdir(), "shoal-test-"));
    dirs.push(d);
    const onDisk = statSync(d).dev === statSync("/dev/shm").dev;
    expect(onDisk).toBe(false);
    const store = new SecretFiles(join(d, "secrets"));
    await expect(store.write("task_1", planTaskFiles(withFiles()).secrets)).rejects.toThrow(/not on a tmpfs; give the agent --secrets-dir on one/);
    expect(existsSync(store.taskDir("task_1"))).toBe(false);
  });

  it("the controller writes the secrets before creating the container, sends the configs as an archive before start, and removes the secrets with the container", async () => {
    const engine = new FakeEngine();
    const r = recordingReport();
    const store = new SecretFiles(shmDir());
    const controller = new TaskController(withFiles(), engine, "node_1", r.report, [], store);
    await controller.run();
    expect(r.states()).toEqual(["accepted", "preparing", "ready", "starting", "running"]);
    expect(engine.calls).toEqual(["pull busybox:1", "create web.1.task_1", "archive web.1.task_1 /", "start web.1.task_1"]);
    const [c] = [...engine.containers.values()];
    expect(c!.body.HostConfig?.Mounts).toEqual([{ Type: "bind", Source: store.taskDir("task_1"), Target: "/run/secrets", ReadOnly: true }]);
    expect(await entries(engine.archives.get("web.1.task_1")![0]!.tar)).toEqual([{ name: "app.conf", type: "file", uid: 33, gid: 0, mode: 0o640, data: "port = 80\n" }]);
    // The value is in the tmpfs directory only, not in the container's create body.
    expect(JSON.stringify(c!.body)).not.toContain("hunter2");
    expect(readFileSync(join(store.taskDir("task_1"), "db/password"), "utf8")).toBe("hunter2");
    await controller.remove(c!.id);
    expect(existsSync(store.taskDir("task_1"))).toBe(false);
  });

  it("the worker keeps a task's secrets while its container exists, and removes them with an orphan's container and any it finds left over", async () => {
    const engine = new FakeEngine();
    const store = new SecretFiles(shmDir());
    const worker = new Worker(engine, "node_1", recordingReport().report, silentLogger, () => true, () => undefined, store);
    await store.write("task_9", planTaskFiles(withFiles("task_9")).secrets); // left by a crash: no container, no assignment
    worker.assign([withFiles("task_1")]);
    await worker.idle();
    expect(engine.containers.size).toBe(1);
    expect(readFileSync(join(store.taskDir("task_1"), "api_key"), "utf8")).toBe("k3y");
    expect(existsSync(store.taskDir("task_9"))).toBe(false);
    worker.assign([]);
    await worker.idle();
    expect(engine.containers.size).toBe(0);
    expect(existsSync(store.taskDir("task_1"))).toBe(false);
  });

  it("an ended task's kept container keeps no secrets: they go when it ends, the container when the history drops it", async () => {
    const engine = new FakeEngine();
    const store = new SecretFiles(shmDir());
    const worker = new Worker(engine, "node_1", recordingReport().report, silentLogger, () => true, () => undefined, store);
    worker.assign([withFiles("task_1")]);
    await worker.idle();
    engine.crash("web.1.task_1", 1);
    // The task failed: no longer assigned, listed among the ended tasks the store still holds.
    worker.keepEnded(["task_1"]);
    worker.assign([]);
    await worker.idle();
    expect([...engine.containers.values()].map((c) => c.name)).toEqual(["web.1.task_1"]);
    expect(existsSync(store.taskDir("task_1"))).toBe(false);
    // Deleted from the history (the task reaper): its container goes.
    worker.keepEnded([]);
    await worker.idle();
    expect(engine.containers.size).toBe(0);
  });

  it("a task with secrets on an agent with nowhere to keep them is rejected before any container is made", async () => {
    const engine = new FakeEngine();
    const r = recordingReport();
    await new TaskController(withFiles(), engine, "node_1", r.report).run();
    expect(r.reports.at(-1)).toEqual(["task_1", "rejected", { error: "this agent has no in-memory directory for secrets" }]);
    expect(engine.containers.size).toBe(0);
  });
});
