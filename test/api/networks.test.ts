import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestApp, joinNode, type TestApp } from "../helpers/app.js";

let t: TestApp;
beforeEach(async () => {
  t = await createTestApp();
});
afterEach(() => t.close());

const admin = () => ({ token: t.tokens.admin });
const createNetwork = (body: Record<string, unknown>) => t.call("POST", "/v1/networks", { ...admin(), body });
const createService = (body: Record<string, unknown>) =>
  t.call("POST", "/v1/services", { ...admin(), body: { task: { container: { image: "busybox:1" } }, ...body } });
const wireguardHost = {
  overlay: {
    underlayMtu: 1500,
    capabilities: { vxlan: true, nftables: true, conntrack: true, wireguard: "go" },
    wgPublicKey: "mR7Yj1Yc3nNq3b2q0S0sEsQpF3v8m7q3sB7Y0m3Z0mE=",
  },
};
const rowCount = async (table: string) => Number((await t.client.execute(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);

describe("networks API", () => {
  it("a new cluster has the ingress network, 10.0.0.0/24, VNI 4096", async () => {
    const res = await t.call("GET", "/v1/networks", admin());
    expect(res.status).toBe(200);
    expect(res.body).toEqual([
      expect.objectContaining({ name: "ingress", driver: "overlay", scope: "swarm", subnet: "10.0.0.0/24", gateway: "10.0.0.1", vni: 4096, ingress: true }),
    ]);
  });

  it("create without a subnet takes the next free /24 and VNI; with one, keeps it; overlaps are refused", async () => {
    const a = await createNetwork({ name: "a" });
    expect(a.status, a.text).toBe(201);
    expect(a.body).toMatchObject({ name: "a", subnet: "10.0.1.0/24", gateway: "10.0.1.1", vni: 4097, encrypted: false, internal: false });
    const b = await createNetwork({ name: "b", subnet: "10.0.2.0/23", gateway: "10.0.3.254", internal: true, attachable: true, labels: { team: "x" } });
    expect(b.body).toMatchObject({ subnet: "10.0.2.0/23", gateway: "10.0.3.254", vni: 4098, internal: true, attachable: true, labels: { team: "x" } });
    expect((await createNetwork({ name: "c" })).body.subnet).toBe("10.0.4.0/24");
    const overlap = await createNetwork({ name: "d", subnet: "10.0.0.0/16" });
    expect(overlap.status).toBe(409);
    expect(overlap.body.detail).toMatch(/overlaps network a \(10\.0\.1\.0\/24\)/);
    expect((await createNetwork({ name: "a" })).status).toBe(409);
  });

  it("bad input is a 400 naming the field, and nothing is written", async () => {
    const before = await rowCount("networks");
    for (const [body, path, message] of [
      [{ name: "x", subnet: "10.1.0.1/24" }, "body.subnet", /host bits set; the subnet is 10\.1\.0\.0\/24/],
      [{ name: "x", subnet: "nope" }, "body.subnet", /not an IPv4 subnet/],
      [{ name: "x", subnet: "10.1.0.0/30" }, "body.subnet", /prefix length must be 8 to 29/],
      [{ name: "x", subnet: "198.19.4.0/24" }, "body.subnet", /overlaps 198\.18\.0\.0\/15, which carries the hosts' WireGuard tunnels/],
      [{ name: "x", subnet: "10.1.0.0/24", gateway: "10.2.0.1" }, "body.gateway", /not a host address of subnet 10\.1\.0\.0\/24/],
      [{ name: "x", gateway: "10.2.0.1" }, "body.gateway", /needs a subnet/],
      [{ name: "x", options: { "com.docker.network.driver.mtu": "12" } }, "body.options.com.docker.network.driver.mtu", /MTU from 576/],
      [{ name: "x", driver: "bridge" }, "body.driver", /only the overlay driver/],
      [{ name: "-x" }, "body.name", /a network name/],
    ] as const) {
      const res = await createNetwork(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.errors[0].path).toBe(path);
      expect(res.body.detail + res.body.errors[0].message).toMatch(message);
    }
    expect(await rowCount("networks")).toBe(before);
  });

  it("--opt encrypted is refused while no ready node can do WireGuard, and accepted once one can", async () => {
    await joinNode(t, { overlay: { ...wireguardHost.overlay, capabilities: { ...wireguardHost.overlay.capabilities, wireguard: "none" }, wgPublicKey: undefined } });
    const refused = await createNetwork({ name: "secret", options: { encrypted: "" } });
    expect(refused.status).toBe(400);
    expect(refused.body.detail).toMatch(/no ready node can do WireGuard.*never runs it unencrypted/);
    await joinNode(t, wireguardHost);
    const ok = await createNetwork({ name: "secret", options: { encrypted: "", "com.docker.network.driver.mtu": "1300" } });
    expect(ok.status, ok.text).toBe(201);
    expect(ok.body).toMatchObject({ encrypted: true, mtu: 1300 });
  });

  it("list filters, inspect by name, id or prefix", async () => {
    const a = (await createNetwork({ name: "front", labels: { tier: "web" } })).body;
    await createNetwork({ name: "back" });
    const names = async (q: string) => (await t.call("GET", `/v1/networks?${q}`, admin())).body.map((n: any) => n.name);
    expect(await names("")).toEqual(["back", "front", "ingress"]);
    expect(await names("name=ron")).toEqual(["front"]);
    expect(await names("label=tier=web")).toEqual(["front"]);
    expect(await names("type=builtin")).toEqual(["ingress"]);
    expect(await names("type=custom&driver=overlay&scope=swarm")).toEqual(["back", "front"]);
    expect(await names(`id=${a.id.slice(0, 8)}`)).toContain("front");
    for (const ref of ["front", a.id, a.id.slice(0, 12)]) expect((await t.call("GET", `/v1/networks/${ref}`, admin())).body.id).toBe(a.id);
    expect((await t.call("GET", "/v1/networks/nothere", admin())).status).toBe(404);
  });

  it("services attach by name (stored as the id); unknown networks and ingress are refused; rm waits for the service", async () => {
    const net = (await createNetwork({ name: "app" })).body;
    const unknown = await createService({ name: "web", task: { container: { image: "busybox:1" }, networks: [{ target: "nope" }] } });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ detail: "network nope not found", errors: [{ path: "body.task.networks.0.target" }] });
    const explicitIngress = await createService({ name: "web", task: { container: { image: "busybox:1" }, networks: [{ target: "ingress" }] } });
    expect(explicitIngress.status).toBe(400);
    const web = await createService({ name: "web", task: { container: { image: "busybox:1" }, networks: [{ target: "app", aliases: ["www"] }] } });
    expect(web.status, web.text).toBe(201);
    expect(web.body.spec.task.networks).toEqual([{ target: net.id, aliases: ["www"] }]);
    expect((await t.call("GET", "/v1/networks/app", admin())).body.services).toEqual(["web"]);
    const rm = await t.call("DELETE", "/v1/networks/app", admin());
    expect(rm.status).toBe(409);
    expect(rm.body.detail).toBe("network app is in use by service web");
    await createService({ name: "pub", endpoint: { ports: [{ targetPort: 80, publishedPort: 8080 }] } });
    expect((await t.call("DELETE", "/v1/networks/ingress", admin())).body.detail).toMatch(/in use by service pub \(published ports\)/);
    expect((await t.call("DELETE", "/v1/services/web", admin())).status).toBe(204);
    expect((await t.call("DELETE", "/v1/networks/app", admin())).status).toBe(204);
    expect(await rowCount("ip_allocations WHERE network_id = '" + net.id + "'")).toBe(0);
  });

  it("prune removes the networks no service uses, never ingress", async () => {
    await createNetwork({ name: "used" });
    await createNetwork({ name: "idle", labels: { keep: "no" } });
    await createNetwork({ name: "idle2" });
    await createService({ name: "web", task: { container: { image: "busybox:1" }, networks: [{ target: "used" }] } });
    expect((await t.call("POST", "/v1/networks/prune?label=keep=no", admin())).body).toEqual({ deleted: ["idle"] });
    expect((await t.call("POST", "/v1/networks/prune", admin())).body).toEqual({ deleted: ["idle2"] });
    expect((await t.call("GET", "/v1/networks", admin())).body.map((n: any) => n.name)).toEqual(["ingress", "used"]);
  });

  it("concurrent creates through the API never share a subnet or a VNI", async () => {
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) => createNetwork({ name: `n${i}` })));
    expect(results.map((r) => r.status)).toEqual(Array(16).fill(201));
    const all = (await t.call("GET", "/v1/networks", admin())).body as any[];
    expect(new Set(all.map((n) => n.subnet)).size).toBe(17);
    expect(new Set(all.map((n) => n.vni)).size).toBe(17);
  });

  it("stacks create <stack>_<name> and <stack>_default networks, need external ones to exist, and remove theirs on stack rm", async () => {
    const file = `
services:
  web:
    image: busybox:1
    networks: [front, shared]
  worker:
    image: busybox:1
networks:
  front:
    driver_opts: { com.docker.network.driver.mtu: "1400" }
    ipam: { config: [{ subnet: 10.50.0.0/24 }] }
  shared:
    external: true
`;
    const missing = await t.call("PUT", "/v1/stacks/shop", { ...admin(), body: { files: [file] } });
    expect(missing.status).toBe(404);
    expect(missing.body.detail).toMatch(/external network shared not found/);
    expect(await rowCount("networks")).toBe(1);
    await createNetwork({ name: "shared" });
    const res = await t.call("PUT", "/v1/stacks/shop", { ...admin(), body: { files: [file] } });
    expect(res.status, res.text).toBe(200);
    const nets = (await t.call("GET", "/v1/networks?label=com.docker.stack.namespace=shop", admin())).body as any[];
    expect(nets.map((n) => [n.name, n.subnet, n.mtu, n.services])).toEqual([
      ["shop_default", "10.0.2.0/24", undefined, ["shop_worker"]],
      ["shop_front", "10.50.0.0/24", 1400, ["shop_web"]],
    ]);
    const again = await t.call("PUT", "/v1/stacks/shop", { ...admin(), body: { files: [file] } });
    expect(again.body.services.map((s: any) => s.action)).toEqual(["unchanged", "unchanged"]);
    expect((await t.call("DELETE", "/v1/stacks/shop", admin())).status).toBe(204);
    expect((await t.call("GET", "/v1/networks", admin())).body.map((n: any) => n.name)).toEqual(["ingress", "shared"]);
  });
});
