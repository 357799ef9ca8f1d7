import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestApp, joinNode, type TestApp } from "../helpers/app.js";

/** The Docker Engine API's swarm part, through the app as the docker CLI, dockerode and docker-py call it. */

const filters = (f: object) => `filters=${encodeURIComponent(JSON.stringify(f))}`;
const webSpec = (image = "nginx:1.27", replicas = 2) => ({
  Name: "web",
  Labels: { tier: "front" },
  TaskTemplate: { ContainerSpec: { Image: image } },
  Mode: { Replicated: { Replicas: replicas } },
  EndpointSpec: { Ports: [{ TargetPort: 80 }] },
});

let t: TestApp;
let nodeId: string;
const docker = (method: string, path: string, body?: unknown, token = t.tokens.admin) => t.call(method, path, { token, body });
const eventCount = async () => Number((await t.client.execute("SELECT count(*) AS n FROM events")).rows[0]!.n);

beforeEach(async () => {
  t = await createTestApp();
  nodeId = (await joinNode(t)).id;
});
afterEach(() => t.close());

describe("transport", () => {
  it.each(["/_ping", "/v1.41/_ping", "/docker/_ping", "/docker/v1.24/_ping"])("HEAD and GET %s negotiate API 1.41 without a credential", async (path) => {
    for (const method of ["HEAD", "GET"]) {
      const res = await t.call(method, path);
      expect(res.status).toBe(200);
      expect(res.headers.get("api-version")).toBe("1.41");
      expect(res.headers.get("swarm")).toBe("active/manager");
      expect(res.text).toBe(method === "GET" ? "OK" : "");
    }
  });

  it("serves unversioned, versioned and /docker-prefixed paths alike; refuses versions below 1.24", async () => {
    const paths = ["/version", "/v1.41/version", "/v1.44/version", "/docker/version", "/docker/v1.41/version"];
    for (const path of paths) {
      const res = await docker("GET", path);
      expect(res.status, path).toBe(200);
      expect(res.body).toMatchObject({ ApiVersion: "1.41", MinAPIVersion: "1.24", Version: "0.1.0", Components: [{ Name: "Engine" }] });
    }
    const old = await docker("GET", "/v1.23/version");
    expect(old.status).toBe(400);
    expect(old.body.message).toMatch(/client version 1\.23 is too old\. Minimum supported API version is 1\.24/);
  });

  it("answers Docker's error shape: 404 for unknown paths and objects, 501 for what shoal does not have yet", async () => {
    expect(await docker("GET", "/v1.41/containers/json")).toMatchObject({ status: 404, body: { message: "page not found" } });
    expect(await docker("GET", "/v1.41/services/nope")).toMatchObject({ status: 404, body: { message: "service nope not found" } });
    expect(await docker("GET", "/v1.41/tasks/nope")).toMatchObject({ status: 404, body: { message: "task nope not found" } });
    expect(await docker("POST", "/v1.41/networks/app/connect", { Container: "x" })).toMatchObject({ status: 501, body: { message: expect.stringMatching(/through services/) } });
  });

  it("distribution: any valid reference gets a descriptor without digest or platforms (the agents pull the tag); a bad one 400", async () => {
    for (const path of ["/v1.41/distribution/busybox:1/json", "/docker/v1.41/distribution/ghcr.io/acme/app:1/json", "/distribution/localhost:5000/a/b/json", "/v1.41/distribution/nginx%3A1.27/json"]) {
      const res = await docker("GET", path);
      expect(res.status, path).toBe(200);
      expect(res.body).toEqual({ Descriptor: { mediaType: "", digest: "", size: 0 }, Platforms: [] });
    }
    expect(await docker("GET", "/v1.41/distribution/Busybox:1/json")).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^invalid reference format: the repository name Busybox must be lower-case/) } });
    expect(await docker("GET", `/v1.41/distribution/${"a".repeat(600)}/json`)).toMatchObject({ status: 400, body: { message: expect.stringMatching(/longer than 512/) } });
    expect(await docker("GET", "/v1.41/distribution/busybox:1")).toMatchObject({ status: 404, body: { message: "page not found" } });
    expect((await docker("GET", "/v1.41/distribution/busybox:1/json", undefined, "")).status).toBe(401);
  });

  it("info shows a swarm manager with the cluster; /swarm has join tokens for admin tokens only", async () => {
    const info = await docker("GET", "/v1.41/info");
    expect(info.body.Swarm).toMatchObject({ LocalNodeState: "active", ControlAvailable: true, Nodes: 1, Managers: 0, Cluster: { Spec: { Orchestration: { TaskHistoryRetentionLimit: 5 } } } });
    expect((await docker("GET", "/v1.41/swarm")).body.JoinTokens.Worker).toMatch(/^ey/);
    expect((await docker("GET", "/v1.41/swarm", undefined, t.tokens.read)).body.JoinTokens).toBeUndefined();
  });
});

describe("services", () => {
  it("create, list with both filter forms and status, inspect by id, id prefix, name or shoal id", async () => {
    const created = await docker("POST", "/v1.41/services/create", webSpec());
    expect(created.status, created.text).toBe(201);
    const id: string = created.body.ID;
    expect(id).toMatch(/^[a-v0-9]{20}$/);
    for (const ref of [id, id.slice(0, 6), "web", `svc_${id}`]) {
      const res = await docker("GET", `/v1.41/services/${ref}?insertDefaults=true`);
      expect(res.status, ref).toBe(200);
      expect(res.body).toMatchObject({ ID: id, Version: { Index: 1 }, Spec: { Name: "web", Mode: { Replicated: { Replicas: 2 } } } });
    }
    const listed = await docker("GET", `/services?status=true&${filters({ name: { web: true }, label: ["tier=front"] })}`);
    expect(listed.body).toHaveLength(1);
    expect(listed.body[0].ServiceStatus).toEqual({ RunningTasks: 0, DesiredTasks: 2, CompletedTasks: 0 });
    // The ingress port got its number; docker service ls reads it from Endpoint.Ports.
    expect(listed.body[0].Endpoint.Ports).toEqual([{ Protocol: "tcp", TargetPort: 80, PublishedPort: 30000, PublishMode: "ingress" }]);
    expect((await docker("GET", `/services?${filters({ id: [id.slice(0, 4)] })}`)).body).toHaveLength(1);
    expect((await docker("GET", `/services?${filters({ label: { "tier=back": true } })}`)).body).toEqual([]);
    expect((await docker("GET", "/services")).body[0].ServiceStatus).toBeUndefined();
    expect(await docker("GET", `/services?${filters({ colour: ["red"] })}`)).toMatchObject({ status: 400, body: { message: expect.stringMatching(/invalid filter 'colour'/) } });
  });

  it("tasks: the service's, by name or id, _up-to-date, with their spec; inspect by id", async () => {
    const id = (await docker("POST", "/v1.41/services/create", webSpec())).body.ID;
    const tasks = await docker("GET", `/v1.41/tasks?${filters({ service: { web: true } })}`);
    expect(tasks.body).toHaveLength(2);
    expect(tasks.body.map((x: any) => x.Slot).sort()).toEqual([1, 2]);
    expect(tasks.body[0]).toMatchObject({ ServiceID: id, NodeID: nodeId.replace("node_", ""), DesiredState: "running", Spec: { ContainerSpec: { Image: "nginx:1.27" } }, Status: { State: "assigned" } });
    const version = (await docker("GET", "/v1.41/services/web")).body.Version.Index;
    expect((await docker("POST", `/v1.41/services/${id}/update?version=${version}`, webSpec("nginx:2"))).status).toBe(200);
    const upToDate = (v: boolean) => docker("GET", `/v1.41/tasks?${filters({ "_up-to-date": { [String(v)]: true }, service: { [id]: true } })}`);
    const fresh = (await upToDate(true)).body;
    expect(fresh.length).toBeGreaterThan(0);
    expect(fresh.every((x: any) => x.Spec.ContainerSpec.Image === "nginx:2")).toBe(true);
    expect((await upToDate(false)).body.every((x: any) => x.Spec.ContainerSpec.Image === "nginx:1.27")).toBe(true);
    const one = await docker("GET", `/v1.41/tasks/${fresh[0].ID}`);
    expect(one.body.ID).toBe(fresh[0].ID);
    expect(await docker("GET", `/v1.41/tasks?${filters({ service: ["nope"] })}`)).toMatchObject({ status: 404 });
  });

  it("update: whole spec at a version; shoal-only fields kept; stale version 409; rollback=previous; rm by name", async () => {
    // dependsOn and rebalance come from shoal's own API; a Docker-side update must keep them.
    await t.call("POST", "/v1/services", { token: t.tokens.admin, body: { name: "db", task: { container: { image: "busybox:1" } } } });
    await t.call("POST", "/v1/services", {
      token: t.tokens.admin,
      body: { name: "web", replicas: 2, rebalance: true, dependsOn: ["db"], task: { container: { image: "nginx:1.27" }, strategy: "binpack" } },
    });
    const read = (await docker("GET", "/v1.41/services/web")).body;
    const scaled = { ...read.Spec, Mode: { Replicated: { Replicas: 5 } } };
    expect(await docker("POST", `/v1.41/services/${read.ID}/update?version=${read.Version.Index + 1}`, scaled)).toMatchObject({
      status: 409,
      body: { message: expect.stringMatching(/update out of sequence/) },
    });
    expect((await docker("POST", `/v1.41/services/${read.ID}/update?version=${read.Version.Index}&registryAuthFrom=spec`, scaled)).status).toBe(200);
    const shoalView = (await t.call("GET", "/v1/services/web", { token: t.tokens.admin })).body;
    expect(shoalView.spec).toMatchObject({ replicas: 5, rebalance: true, dependsOn: ["db"], task: { strategy: "binpack" } });
    const after = (await docker("GET", "/v1.41/services/web")).body;
    expect(after.PreviousSpec.Mode.Replicated.Replicas).toBe(2);
    // docker service rollback sends the current spec with rollback=previous.
    expect((await docker("POST", `/v1.41/services/${after.ID}/update?version=${after.Version.Index}&rollback=previous`, after.Spec)).status).toBe(200);
    expect((await docker("GET", "/v1.41/services/web")).body).toMatchObject({ Spec: { Mode: { Replicated: { Replicas: 2 } } }, UpdateStatus: { State: "rollback_started" } });
    expect((await docker("DELETE", "/v1.41/services/web")).status).toBe(200);
    expect(await docker("DELETE", "/v1.41/services/web")).toMatchObject({ status: 404, body: { message: "service web not found" } });
  });

  it("refuses what shoal cannot honour, naming the field, and writes nothing", async () => {
    const before = await eventCount();
    const cases: [unknown, RegExp][] = [
      [{ ...webSpec(), TaskTemplate: { ContainerSpec: { Image: "nginx", Secrets: [{ File: { Name: "db" } }] } } }, /TaskTemplate\.ContainerSpec\.Secrets\.0\.SecretName: required/],
      [{ ...webSpec(), TaskTemplate: { ContainerSpec: { Image: "nginx", Env: "A=1" } } }, /TaskTemplate\.ContainerSpec\.Env: expected an array of strings, got a string/],
      [{ ...webSpec(), TaskTemplate: { ContainerSpec: {} } }, /TaskTemplate\.ContainerSpec\.Image: required/],
    ];
    for (const [body, message] of cases) {
      const res = await docker("POST", "/v1.41/services/create", body);
      expect(res.status, res.text).toBe(400);
      expect(res.body.message).toMatch(message);
    }
    const badAuth = await t.call("POST", "/v1.41/services/create", { token: t.tokens.admin, body: webSpec(), headers: { "x-registry-auth": "%%%" } });
    expect(badAuth).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^invalid X-Registry-Auth header/) } });
    const unknownSecret = { ...webSpec(), TaskTemplate: { ContainerSpec: { Image: "nginx", Secrets: [{ SecretName: "db" }] } } };
    expect(await docker("POST", "/v1.41/services/create", unknownSecret)).toMatchObject({ status: 404, body: { message: "secret db not found" } });
    expect(await docker("POST", "/v1.41/services/create", "{not json")).toMatchObject({ status: 400, body: { message: expect.stringMatching(/not valid JSON/) } });
    expect(await eventCount()).toBe(before);
    expect((await docker("GET", "/v1.41/services")).body).toEqual([]);
  });
});

describe("networks, secrets and configs (what docker stack deploy creates)", () => {
  const b64 = (text: string) => btoa(text);

  it("networks: create as the CLI sends it, list with the stack's label filter, inspect by id, prefix or name, remove, prune", async () => {
    const body = {
      Name: "st_front",
      CheckDuplicate: true,
      Driver: "overlay",
      Scope: "swarm",
      EnableIPv6: false,
      IPAM: { Driver: "default", Config: [{ Subnet: "10.20.0.0/24" }], Options: {} },
      Internal: false,
      Attachable: true,
      Ingress: false,
      ConfigOnly: false,
      ConfigFrom: null,
      Options: {},
      Labels: { "com.docker.stack.namespace": "st" },
    };
    const created = await docker("POST", "/v1.41/networks/create", body);
    expect(created).toMatchObject({ status: 201, body: { Id: expect.stringMatching(/^[0-9a-v]{20}$/), Warning: "" } });
    const id = created.body.Id as string;
    expect((await docker("POST", "/v1.41/networks/create", body)).status).toBe(409);
    const listed = await docker("GET", `/v1.41/networks?${filters({ label: { "com.docker.stack.namespace=st": true } })}`);
    expect(listed.body).toEqual([
      expect.objectContaining({ Name: "st_front", Id: id, Scope: "swarm", Driver: "overlay", Attachable: true, IPAM: { Driver: "default", Options: null, Config: [{ Subnet: "10.20.0.0/24", Gateway: "10.20.0.1" }] } }),
    ]);
    expect((await docker("GET", "/v1.41/networks")).body.map((n: any) => n.Name).sort()).toEqual(["ingress", "st_front"]);
    for (const ref of [id, id.slice(0, 6), "st_front", `net_${id}`]) expect((await docker("GET", `/v1.41/networks/${ref}`)).body.Id, ref).toBe(id);
    expect((await docker("GET", `/v1.41/networks?${filters({ dangling: ["true"] })}`)).body.map((n: any) => n.Name)).toEqual(["st_front"]);

    // A service attached by name (stack deploy) or by Docker's id; shown with Docker's id.
    const svc = await docker("POST", "/v1.41/services/create", { ...webSpec(), EndpointSpec: {}, TaskTemplate: { ContainerSpec: { Image: "nginx" }, Networks: [{ Target: "st_front", Aliases: ["web"] }] } });
    expect(svc.status, svc.text).toBe(201);
    const inspected = (await docker("GET", "/v1.41/services/web")).body;
    expect(inspected.Spec.TaskTemplate.Networks).toEqual([{ Target: id, Aliases: ["web"] }]);
    expect(inspected.Endpoint.VirtualIPs).toEqual([{ NetworkID: id, Addr: expect.stringMatching(/^10\.20\.0\.\d+\/24$/) }]);
    const inUse = await docker("DELETE", `/v1.41/networks/${id}`);
    expect(inUse).toMatchObject({ status: 409, body: { message: "network st_front is in use by service web" } });
    expect((await docker("POST", "/v1.41/networks/prune")).body).toEqual({ NetworksDeleted: [] });
    expect((await docker("DELETE", "/v1.41/services/web")).status).toBe(200);
    expect((await docker("DELETE", "/v1.41/networks/st_front")).status).toBe(204);
    expect((await docker("GET", `/v1.41/networks/${id}`))).toMatchObject({ status: 404, body: { message: expect.stringMatching(/network .* not found/) } });
    await docker("POST", "/v1.41/networks/create", { Name: "a", Driver: "overlay" });
    expect((await docker("POST", "/v1.41/networks/prune")).body).toEqual({ NetworksDeleted: ["a"] });
  });

  it("networks: refuses what shoal's overlays are not, naming Docker's field, and writes nothing", async () => {
    const before = await eventCount();
    for (const [body, message] of [
      [{ Name: "n", Driver: "bridge" }, /^invalid spec: Driver: only the overlay driver/],
      [{ Name: "n", Driver: "overlay", EnableIPv6: true }, /^invalid spec: EnableIPv6: not supported by shoal \(IPv6\)/],
      [{ Name: "n", Driver: "overlay", IPAM: { Config: [{ Subnet: "10.1.0.0/24" }, { Subnet: "10.2.0.0/24" }] } }, /IPAM\.Config: .*one subnet per network/],
      [{ Name: "n", Driver: "overlay", IPAM: { Config: [{ Subnet: "10.1.0.0/24", IPRange: "10.1.0.0/25" }] } }, /IPAM\.Config\.0\.IPRange: not supported/],
      [{ Name: "bad name!", Driver: "overlay" }, /^invalid spec: Name: a network name/],
      [{ Driver: "overlay" }, /^invalid spec: Name: required/],
    ] as const) {
      const res = await docker("POST", "/v1.41/networks/create", body);
      expect(res.status, res.text).toBe(400);
      expect(res.body.message).toMatch(message);
    }
    const overlap = await docker("POST", "/v1.41/networks/create", { Name: "n", Driver: "overlay", IPAM: { Config: [{ Subnet: "10.0.0.0/16" }] } });
    expect(overlap).toMatchObject({ status: 409, body: { message: expect.stringMatching(/overlaps network ingress/) } });
    expect(await eventCount()).toBe(before);
  });

  it.each(["secret", "config"] as const)("%ss: create, list by name, inspect, labels-only update (same data again accepted), refusal of changed data, rm", async (kind) => {
    const base = `/v1.41/${kind}s`;
    const created = await docker("POST", `${base}/create`, { Name: "st_db", Labels: { "com.docker.stack.namespace": "st" }, Data: b64("hunter2") });
    expect(created).toMatchObject({ status: 201, body: { ID: expect.stringMatching(/^[0-9a-v]{20}$/) } });
    const id = created.body.ID as string;
    const view = (await docker("GET", `${base}/st_db`)).body;
    expect(view).toMatchObject({ ID: id, Version: { Index: 1 }, Spec: { Name: "st_db", Labels: { "com.docker.stack.namespace": "st" } } });
    if (kind === "secret") expect(JSON.stringify(view)).not.toContain(b64("hunter2"));
    else expect(view.Spec.Data).toBe(b64("hunter2"));
    expect((await docker("GET", `${base}?${filters({ name: { st_db: true } })}`)).body.map((o: any) => o.ID)).toEqual([id]);
    expect((await docker("GET", `${base}?${filters({ id: [id.slice(0, 5)] })}`)).body.map((o: any) => o.ID)).toEqual([id]);

    // stack deploy's redeploy: the same data at the version read.
    const same = await docker("POST", `${base}/${id}/update?version=1`, { Name: "st_db", Labels: { "com.docker.stack.namespace": "st", extra: "1" }, Data: b64("hunter2") });
    expect(same.status, same.text).toBe(200);
    expect((await docker("GET", `${base}/${id}`)).body).toMatchObject({ Version: { Index: 2 }, Spec: { Labels: { extra: "1" } } });
    const before = await eventCount();
    const changed = await docker("POST", `${base}/${id}/update?version=2`, { Name: "st_db", Data: b64("hunter3") });
    expect(changed).toMatchObject({ status: 400, body: { message: expect.stringMatching(/only updates to labels are allowed/) } });
    expect(await docker("POST", `${base}/${id}/update?version=2`, { Name: "other", Data: b64("hunter2") })).toMatchObject({ status: 400 });
    expect(await docker("POST", `${base}/${id}/update?version=1`, { Name: "st_db", Labels: {} })).toMatchObject({ status: 409 });
    expect(await docker("POST", `${base}/create`, { Name: "x", Data: "not base64!" })).toMatchObject({ status: 400, body: { message: expect.stringMatching(/base64/) } });
    expect(await docker("POST", `${base}/create`, { Name: "x", Data: b64("v"), Driver: { Name: "vault" } })).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^invalid spec: Driver: not supported/) } });
    expect(await eventCount()).toBe(before);

    // A service refers to it as the docker CLI sends it; rm waits until no service does.
    const ref = kind === "secret" ? { File: { Name: "db", UID: "0", GID: "0", Mode: 0o400 }, SecretID: id, SecretName: "st_db" } : { File: { Name: "/etc/db", UID: "0", GID: "0", Mode: 0o444 }, ConfigID: id, ConfigName: "st_db" };
    const key = kind === "secret" ? "Secrets" : "Configs";
    expect((await docker("POST", "/v1.41/services/create", { ...webSpec(), TaskTemplate: { ContainerSpec: { Image: "nginx", [key]: [ref] } } })).status).toBe(201);
    expect((await docker("GET", "/v1.41/services/web")).body.Spec.TaskTemplate.ContainerSpec[key]).toEqual([ref]);
    expect((await t.call("GET", "/v1/services/web", { token: t.tokens.read })).body.spec.task[`${kind}s`][0]).toMatchObject({ source: "st_db", id: `${kind === "secret" ? "sec" : "cfg"}_${id}` });
    expect(await docker("DELETE", `${base}/${id}`)).toMatchObject({ status: 409, body: { message: `${kind} st_db is in use by service web` } });
    await docker("DELETE", "/v1.41/services/web");
    expect((await docker("DELETE", `${base}/${id}`)).status).toBe(204);
    expect((await docker("GET", `${base}/${id}`)).status).toBe(404);
  });
});

describe("nodes", () => {
  it("list with filters, inspect by id or hostname, update the whole spec at a version, remove", async () => {
    const id = nodeId.replace("node_", "");
    const nodes = await docker("GET", `/v1.41/nodes?${filters({ role: { worker: true } })}`);
    expect(nodes.body).toEqual([expect.objectContaining({ ID: id, Spec: { Labels: {}, Role: "worker", Availability: "active" }, Status: expect.objectContaining({ State: "ready" }) })]);
    const byHost = (await docker("GET", `/v1.41/nodes/${nodes.body[0].Description.Hostname}`)).body;
    expect(byHost.ID).toBe(id);
    expect((await docker("GET", "/v1.41/nodes/self")).status).toBe(404);
    const spec = { ...byHost.Spec, Availability: "drain", Labels: { zone: "a" } };
    expect((await docker("POST", `/v1.41/nodes/${id}/update?version=${byHost.Version.Index}`, spec)).status).toBe(200);
    expect((await docker("POST", `/v1.41/nodes/${id}/update?version=${byHost.Version.Index}`, spec)).status).toBe(409);
    expect((await docker("GET", `/v1.41/nodes?${filters({ "node.label": ["zone=a"] })}`)).body[0].Spec).toEqual({ Labels: { zone: "a" }, Role: "worker", Availability: "drain" });
    expect(await docker("DELETE", `/v1.41/nodes/${id}`)).toMatchObject({ status: 409, body: { message: expect.stringMatching(/is ready/) } });
    expect((await docker("DELETE", `/v1.41/nodes/${id}?force=1`)).status).toBe(200);
    expect((await docker("GET", "/v1.41/nodes")).body).toEqual([]);
  });
});

describe("events", () => {
  const lines = (text: string) => text.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));

  it("streams past swarm events as dockerd does, ending at `until`; task and stack events have no Docker form", async () => {
    const created = await docker("POST", "/v1.41/services/create", webSpec());
    const id = created.body.ID as string;
    const current = await docker("GET", `/v1.41/services/${id}`);
    await docker("POST", `/v1.41/services/${id}/update?version=${current.body.Version.Index}`, webSpec("nginx:1.28"));
    const res = await docker("GET", "/v1.41/events?since=0&until=0s");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const events = lines(res.text);
    expect(events.map((e) => `${e.Type} ${e.Action}`)).toEqual(["node create", "node update", "service create", "service update"]);
    expect(events[1].Actor.Attributes).toMatchObject({ "state.new": "ready" });
    expect(events[2]).toEqual({ Type: "service", Action: "create", Actor: { ID: id, Attributes: { name: "web" } }, scope: "swarm", time: expect.any(Number), timeNano: expect.any(Number) });
    expect(events[0].Actor.ID).toBe(nodeId.replace(/^node_/, ""));
  });

  it("filters by type, action, object name or id prefix and label, each key having to match", async () => {
    const id = (await docker("POST", "/v1.41/services/create", webSpec())).body.ID as string;
    const get = async (f: object) => lines((await docker("GET", `/v1.41/events?since=0&until=0s&${filters(f)}`)).text);
    expect((await get({ type: ["service"] })).map((e) => e.Action)).toEqual(["create"]);
    expect((await get({ type: { node: true } })).map((e) => e.Action)).toEqual(["create", "update"]);
    expect(await get({ service: ["we"] })).toHaveLength(1);
    expect(await get({ service: [id.slice(0, 6)] })).toHaveLength(1);
    expect(await get({ service: ["api"] })).toHaveLength(0);
    expect(await get({ type: ["service"], event: ["remove"] })).toHaveLength(0);
    expect(await get({ label: ["state.new=ready"] })).toHaveLength(1);
    expect(await get({ container: ["x"] })).toHaveLength(0);
  });

  it("networks, secrets and configs: create, update and remove events with the name, each type filtered on its own; never a secret's data", async () => {
    const net = (await docker("POST", "/v1.41/networks/create", { Name: "back", Driver: "overlay", CheckDuplicate: true })).body.Id as string;
    const sec = (await docker("POST", "/v1.41/secrets/create", { Name: "pw", Labels: {}, Data: btoa("s3cret-value") })).body.ID as string;
    const cfg = (await docker("POST", "/v1.41/configs/create", { Name: "conf", Labels: {}, Data: btoa("a=1") })).body.ID as string;
    expect((await docker("POST", `/v1.41/secrets/${sec}/update?version=1`, { Name: "pw", Labels: { team: "a" }, Data: btoa("s3cret-value") })).status).toBe(200);
    expect((await docker("POST", `/v1.41/configs/${cfg}/update?version=1`, { Name: "conf", Labels: { team: "a" } })).status).toBe(200);
    for (const path of [`/v1.41/networks/${net}`, `/v1.41/secrets/${sec}`, `/v1.41/configs/${cfg}`]) expect((await docker("DELETE", path)).status, path).toBe(204);
    const res = await docker("GET", `/v1.41/events?since=0&until=0s&${filters({ type: { network: true, secret: true, config: true } })}`);
    expect(res.text).not.toMatch(/s3cret-value|czNjcmV0LXZhbHVl/);
    const events = lines(res.text);
    expect(events.map((e) => `${e.Type} ${e.Action} ${e.Actor.ID} ${JSON.stringify(e.Actor.Attributes)} ${e.scope}`)).toEqual([
      `network create ${net} {"name":"back"} swarm`,
      `secret create ${sec} {"name":"pw"} swarm`,
      `config create ${cfg} {"name":"conf"} swarm`,
      `secret update ${sec} {"name":"pw"} swarm`,
      `config update ${cfg} {"name":"conf"} swarm`,
      `network remove ${net} {"name":"back"} swarm`,
      `secret remove ${sec} {"name":"pw"} swarm`,
      `config remove ${cfg} {"name":"conf"} swarm`,
    ]);
    const get = async (f: object) => lines((await docker("GET", `/v1.41/events?since=0&until=0s&${filters(f)}`)).text).map((e) => `${e.Type} ${e.Action}`);
    expect(await get({ type: ["secret"] })).toEqual(["secret create", "secret update", "secret remove"]);
    expect(await get({ type: ["config"], event: ["update"] })).toEqual(["config update"]);
    expect(await get({ network: ["back"] })).toEqual(["network create", "network remove"]);
    expect(await get({ secret: [sec.slice(0, 5)] })).toEqual(["secret create", "secret update", "secret remove"]);
  });

  it("refuses bad times and unknown filters with Docker's error shape, 400", async () => {
    expect(await docker("GET", "/v1.41/events?since=yesterday")).toMatchObject({ status: 400, body: { message: expect.stringMatching(/invalid since "yesterday"/) } });
    expect(await docker("GET", `/v1.41/events?${filters({ colour: ["red"] })}`)).toMatchObject({ status: 400, body: { message: expect.stringMatching(/invalid filter 'colour'/) } });
  });
});
