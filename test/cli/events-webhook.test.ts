import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver } from "../helpers/webhook-receiver.js";
import { expectTable, spawnBin, startCliCluster, type CliCluster } from "./harness.js";

let c: CliCluster;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let startedAt: string;
beforeAll(async () => {
  startedAt = new Date(Date.now() - 1000).toISOString();
  c = await startCliCluster(["host-1"]);
  receiver = await startReceiver();
});
afterAll(async () => {
  await c?.stop();
  await receiver?.close();
});

const eventLine = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}000000Z /;

describe("shoal events", () => {
  it("--since/--until lists past events as docker prints them, filtered; json and templates", async () => {
    const api = (await c.ok("service", "create", "-d", "--name", "api", "busybox:1")).trim();
    await c.ok("service", "create", "-d", "--name", "web", "busybox:1");
    const until = new Date(Date.now() + 1000).toISOString();
    const out = await c.ok("events", "--since", startedAt, "--until", until, "-f", "type=service", "-f", "event=create");
    const lines = out.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l).toMatch(eventLine);
    expect(lines[0]!.slice(31)).toBe(`service create ${api} (name=api)`);
    expect(lines[1]).toMatch(/ service create svc_\w+ \(name=web\)$/);
    const json = JSON.parse((await c.ok("events", "--since", startedAt, "--until", until, "-f", "service=api", "-f", "type=service", "--format", "json")).split("\n")[0]!);
    expect(json).toMatchObject({ Type: "service", Action: "create", Actor: { ID: api, Attributes: { name: "api" } }, scope: "swarm" });
    expect(json.timeNano).toBe(json.time * 1e9 + (json.timeNano % 1e9));
    const templated = await c.ok("events", "--since", startedAt, "--until", until, "-f", "event=service.create", "--format", "{{.Action}} {{.Actor.Attributes.name}}");
    expect(templated).toBe("create api\ncreate web\n");
    expect(await c.shoal("events", "-f", "colour=red", "--until", until)).toMatchObject({ code: 2 });
    const badTime = await c.shoal("events", "--since", "yesterday", "--until", until);
    expect(badTime.code).toBe(1);
    expect(badTime.stderr).toMatch(/^Error: .*since/);
  });

  it("without --until follows the live stream until interrupted", async () => {
    const child = spawnBin(["events", "--since", new Date().toISOString(), "-f", "type=service"], { SHOAL_CONFIG: c.configPath });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    await c.ok("service", "update", "-d", "--env-add", "LIVE=1", "web");
    const line = await lines.next();
    expect(line.value).toMatch(eventLine);
    expect(line.value).toMatch(/ service update svc_\w+ \(name=web\)$/);
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(stderr).toBe("");
  });

  it("a reader that goes away ends it quietly (shoal events | head -1)", async () => {
    const child = spawnBin(["events", "--since", "1h", "-f", "type=service"], { SHOAL_CONFIG: c.configPath });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await new Promise((resolve) => child.stdout.once("data", resolve));
    child.stdout.destroy();
    await c.ok("service", "update", "-d", "--env-add", "PIPE=1", "web");
    expect(await exited).toBe(0);
    expect(stderr).toBe("");
  });
});

describe("shoal webhook", () => {
  let id: string;

  it("create prints the id and the secret once; ls, inspect show it without the secret", async () => {
    const out = await c.ok("webhook", "create", "--url", receiver.url("/in"), "--event", "service.*", "--allow-private", "--name", "ci");
    const [hookId, secret] = out.trimEnd().split("\n");
    expect(hookId).toMatch(/^whk_\w+$/);
    expect(secret).toMatch(/^whsec_/);
    id = hookId!;
    const rows = expectTable(await c.ok("webhook", "ls"), undefined, ["ID", "NAME", "URL", "EVENTS", "ENABLED"]);
    expect(rows).toEqual([[id, "ci", receiver.url("/in"), "service.*", "true"]]);
    expect(await c.ok("webhook", "ls", "-q")).toBe(`${id}\n`);
    expect(JSON.parse(await c.ok("webhook", "ls", "--format", "json"))).toEqual({ ID: id, Name: "ci", URL: receiver.url("/in"), Events: "service.*", Enabled: "true", DisabledReason: "" });
    const [inspected] = JSON.parse(await c.ok("webhook", "inspect", id));
    expect(inspected).toMatchObject({ id, name: "ci", events: ["service.*"], allowPrivate: true, state: "active" });
    expect(inspected.secret).toBeUndefined();
    expect(await c.ok("webhook", "inspect", "--pretty", id)).toContain("Events:          service.*\n");
    expect(await c.ok("webhook", "inspect", "-f", "{{.URL}}", id)).toBe(`${receiver.url("/in")}\n`);
    const other = JSON.parse(await c.ok("webhook", "create", "--format", "json", "--url", receiver.url("/other"), "--allow-private"));
    expect(other).toMatchObject({ name: `127.0.0.1:${receiver.port}`, events: [], secret: expect.stringMatching(/^whsec_/) });
    expect(await c.ok("webhook", "rm", other.id)).toBe(`${other.id}\n`);
    expect(await c.shoal("webhook", "create", "--format", "yaml", "--url", receiver.url("/x"))).toMatchObject({ code: 2 });
  });

  it("deliveries lists what was sent; update changes and disables it", async () => {
    await c.ok("service", "update", "-d", "--env-add", "HOOKED=1", "api");
    await receiver.waitFor(() => receiver.at("/in").length > 0);
    // The update's completion (service.update.completed) may be delivered too.
    const sent = async () => (await c.ok("webhook", "deliveries", "--format", "{{.Event}} {{.State}} {{.Status}}", "-f", "state=succeeded", id)).split("\n");
    await expect.poll(sent, { timeout: 10_000 }).toContain("service.update succeeded 200");
    const rows = expectTable(await c.ok("webhook", "deliveries", id), undefined, ["ID", "EVENT", "STATE", "ATTEMPTS", "STATUS", "LAST ATTEMPT", "ERROR"]);
    expect(rows.find((r) => r[1] === "service.update")!.slice(1, 5)).toEqual(["service.update", "succeeded", "1", "200"]);
    for (const r of rows) expect(r[0]).toMatch(/^msg_\w+$/);
    expect(await c.ok("webhook", "update", "--event", "task.failed", "--event", "node.*", "--disable", id)).toBe(`${id}\n`);
    expect(await c.ok("webhook", "ls", "--format", "{{.Events}} {{.Enabled}} {{.DisabledReason}}")).toBe("task.failed,node.* false disabled by an admin\n");
    await c.ok("webhook", "update", "--enable", id);
    expect(await c.ok("webhook", "ls", "--format", "{{.Enabled}}")).toBe("true\n");
    expect(await c.shoal("webhook", "update", id)).toMatchObject({ code: 2 });
    expect(await c.shoal("webhook", "update", "--enable", "--disable", id)).toMatchObject({ code: 2 });
    const refused = await c.shoal("webhook", "update", "--no-allow-private", id);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^Error: invalid request: body\.url: /);
  });

  it("rm removes each webhook it can and exits 1 naming the others", async () => {
    const missing = "whk_00000000000000000000";
    expect(await c.shoal("webhook", "rm", id, missing)).toEqual({ code: 1, stdout: `${id}\n`, stderr: `Error: webhook ${missing} not found\n` });
    expect(await c.ok("webhook", "ls")).toBe("ID        NAME      URL       EVENTS    ENABLED\n");
  });
});

describe("shoal service hook", () => {
  it("create prints the id and the trigger URL once; ls lists it; the URL redeploys; rm deletes it", async () => {
    const [hookId, url] = (await c.ok("service", "hook", "create", "--name", "registry", "web")).trimEnd().split("\n");
    expect(hookId).toMatch(/^hook_\w+$/);
    expect(url).toMatch(new RegExp(`^${c.server.url}/v1/hooks/\\S+$`));
    const rows = expectTable(await c.ok("service", "hook", "ls", "web"), undefined, ["ID", "NAME", "ACTION", "CREATED", "LAST TRIGGERED"]);
    expect(rows).toEqual([[hookId, "registry", "redeploy", expect.stringMatching(/ago$/), ""]]);
    const triggered = await fetch(`${url}?tag=2`, { method: "POST" });
    expect(triggered.status).toBe(202);
    expect(await c.ok("service", "inspect", "-f", "{{.Spec.Task.Container.Image}}", "web")).toBe("busybox:2\n");
    expect(JSON.parse(await c.ok("service", "hook", "ls", "--format", "json", "web"))).toMatchObject({ ID: hookId, Name: "registry", LastTriggered: expect.stringMatching(/ago$/) });
    expect(await c.ok("service", "hook", "ls", "-q", "web")).toBe(`${hookId}\n`);
    expect(await c.ok("service", "hook", "rm", "web", hookId!)).toBe(`${hookId}\n`);
    expect(await c.ok("service", "hook", "ls", "-q", "web")).toBe("");
    expect(await c.shoal("service", "hook", "rm", "web", hookId!)).toMatchObject({ code: 1, stderr: `Error: webhook ${hookId} not found\n` });
    expect(await c.shoal("service", "hook", "create", "nope")).toMatchObject({ code: 1, stderr: "Error: service nope not found\n" });
  });
});
