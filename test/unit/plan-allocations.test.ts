import { describe, expect, it } from "vitest";
import { quarantineMs } from "../../src/allocator/ipam.js";
import { planAllocations, type AllocationInput, type HeldRow } from "../../src/allocator/plan-allocations.js";
import { viewOf } from "../../src/orchestrator/context.js";
import { buildNetworkDocument, NetworkIndex, attachmentsOf, vtepMacOf } from "../../src/dispatcher/network-document.js";
import { contains, parseIpv4 } from "../../src/domain/ipv4.js";
import { wireguardAddresses, wireguardRange } from "../../src/domain/network.js";
import type { NetworkView } from "../../src/db/networks.js";
import type { TaskState } from "../../src/domain/task-states.js";
import { fixtureNode, fixtureService, fixtureSpec, t0 } from "../helpers/cluster-fixtures.js";

const overlay = { underlayMtu: 1500, capabilities: { vxlan: true, nftables: true, conntrack: true, wireguard: "none" as const } };
const ingress = { id: "net_ingress", name: "ingress", subnet: "10.0.0.0/24", gateway: "10.0.0.1", ipCursor: 0, ingress: true };
const app = { id: "net_app", name: "app", subnet: "10.0.9.0/29", gateway: "10.0.9.1", ipCursor: 0, ingress: false };
const reserved = (n: typeof app, addrs: string[]): HeldRow[] => addrs.map((addr) => ({ networkId: n.id, addr, kind: "reserved", owner: n.id, releasedAt: null }));
const baseRows = [...reserved(ingress, ["10.0.0.0", "10.0.0.1", "10.0.0.255"]), ...reserved(app, ["10.0.9.0", "10.0.9.1", "10.0.9.7"])];

function service(id: string, body: Record<string, unknown>) {
  const row = fixtureService(id, fixtureSpec({ name: id, ...body }));
  return { ...row, specHash: viewOf(row).specHash };
}
const task = (id: string, s: { id: string; specHash: string }, nodeId: string | null, state: TaskState = "running") => ({ id, serviceId: s.id, nodeId, state, specHash: s.specHash });

function input(over: Partial<AllocationInput>): AllocationInput {
  return {
    now: t0,
    networks: [ingress, app],
    allocations: baseRows,
    services: [],
    tasks: [],
    nodes: [fixtureNode("node_a", { overlay }), fixtureNode("node_b", { overlay })],
    ...over,
  };
}

describe("planAllocations", () => {
  const web = service("svc_web", { task: { container: { image: "nginx" }, networks: [{ target: "net_app", aliases: ["www"] }] } });

  it("gives a VIP per network, an address per live task and a node address where tasks run", () => {
    const plan = planAllocations(input({ services: [web], tasks: [task("task_1", web, "node_a"), task("task_2", web, null, "pending")] }));
    expect(plan.allocate.map((a) => [a.kind, a.owner, a.addr])).toEqual([
      ["node", "node_a", "10.0.9.2"],
      ["vip", "svc_web", "10.0.9.3"],
      ["task", "task_1", "10.0.9.4"],
      ["task", "task_2", "10.0.9.5"],
    ]);
    expect(plan.cursors.get("net_app")).toBe((10 << 24) + (9 << 8) + 5);
    expect([...plan.changed]).toEqual(["net_app"]);
    expect(plan.release).toEqual([]);
  });

  it("puts every overlay node on ingress while a port is published through the mesh", () => {
    const mesh = service("svc_mesh", { task: { container: { image: "nginx" } }, endpoint: { ports: [{ targetPort: 80, publishedPort: 8080 }] } });
    const plan = planAllocations(input({ services: [mesh], tasks: [task("task_1", mesh, "node_a")], nodes: [fixtureNode("node_a", { overlay }), fixtureNode("node_b", { overlay }), fixtureNode("node_c")] }));
    expect(plan.allocate.map((a) => [a.networkId, a.kind, a.owner])).toEqual([
      ["net_ingress", "node", "node_a"],
      ["net_ingress", "node", "node_b"],
      ["net_ingress", "vip", "svc_mesh"],
      ["net_ingress", "task", "task_1"],
    ]);
  });

  it("releases what no longer holds, and keeps released addresses in quarantine", () => {
    const held: HeldRow[] = [
      ...baseRows,
      { networkId: "net_app", addr: "10.0.9.2", kind: "node", owner: "node_a", releasedAt: null },
      { networkId: "net_app", addr: "10.0.9.3", kind: "vip", owner: "svc_web", releasedAt: null },
      { networkId: "net_app", addr: "10.0.9.4", kind: "task", owner: "task_1", releasedAt: null },
      { networkId: "net_app", addr: "10.0.9.5", kind: "task", owner: "task_old", releasedAt: t0 - 1000 },
    ];
    const plan = planAllocations(input({ services: [web], allocations: held, tasks: [task("task_1", web, "node_a", "failed"), task("task_2", web, "node_a")] }));
    expect(plan.release.map((r) => r.owner)).toEqual(["task_1"]);
    // .5 is in quarantine, .4 was released just now: .6 is the one fresh address.
    expect(plan.allocate.map((a) => [a.owner, a.addr])).toEqual([["task_2", "10.0.9.6"]]);
  });

  it("reuses the address released longest ago when the subnet is full, and says when nothing is left", () => {
    const held: HeldRow[] = [
      ...baseRows,
      { networkId: "net_app", addr: "10.0.9.2", kind: "node", owner: "node_a", releasedAt: null },
      { networkId: "net_app", addr: "10.0.9.3", kind: "vip", owner: "svc_web", releasedAt: null },
      { networkId: "net_app", addr: "10.0.9.4", kind: "task", owner: "task_x", releasedAt: t0 - 2000 },
      { networkId: "net_app", addr: "10.0.9.5", kind: "task", owner: "task_y", releasedAt: t0 - 5000 },
      { networkId: "net_app", addr: "10.0.9.6", kind: "task", owner: "task_z", releasedAt: t0 - quarantineMs - 1 },
    ];
    const tasks = ["task_1", "task_2", "task_3", "task_4"].map((id) => task(id, web, "node_a"));
    const plan = planAllocations(input({ services: [web], allocations: held, tasks }));
    expect(plan.allocate.map((a) => [a.owner, a.addr])).toEqual([
      ["task_1", "10.0.9.6"],
      ["task_2", "10.0.9.5"],
      ["task_3", "10.0.9.4"],
    ]);
    expect(plan.exhausted.map((a) => a.owner)).toEqual(["task_4"]);
  });

  it("runs tasks on a node that cannot do overlays without their networks", () => {
    const plan = planAllocations(input({ services: [web], tasks: [task("task_1", web, "node_c")], nodes: [fixtureNode("node_c")] }));
    expect(plan.allocate.map((a) => a.kind)).toEqual(["vip"]);
  });

  it("keeps a task of an older spec on the networks it joined", () => {
    const moved = service("svc_web", { task: { container: { image: "nginx" } } });
    const held: HeldRow[] = [...baseRows, { networkId: "net_app", addr: "10.0.9.4", kind: "task", owner: "task_1", releasedAt: null }];
    const plan = planAllocations(input({ services: [moved], allocations: held, tasks: [{ ...task("task_1", web, "node_a") }] }));
    expect(plan.release).toEqual([]);
    expect(plan.allocate.map((a) => [a.kind, a.owner])).toEqual([["node", "node_a"]]);
  });
});

describe("buildNetworkDocument", () => {
  const web = fixtureService("svc_web", fixtureSpec({ name: "web", task: { container: { image: "nginx" }, networks: [{ target: "net_app", aliases: ["www"] }] }, endpoint: { ports: [{ targetPort: 80, publishedPort: 8080 }] } }));
  const row = (n: typeof app, vni: number) => ({ ...n, vni, version: 1, createdAt: t0, updatedAt: t0, driver: "overlay" as const, mtu: null, encrypted: false, internal: false, attachable: false, labels: {}, options: {} });
  const held = (networkId: string, addr: string, kind: HeldRow["kind"], owner: string) => ({ networkId, addr, kind, owner, allocatedAt: t0, releasedAt: null });
  const view: NetworkView = {
    networks: [row(app, 4097), row(ingress, 4096)],
    allocations: [
      held("net_app", "10.0.9.2", "node", "node_a"),
      held("net_app", "10.0.9.3", "node", "node_b"),
      held("net_app", "10.0.9.4", "vip", "svc_web"),
      held("net_app", "10.0.9.5", "task", "task_1"),
      held("net_app", "10.0.9.6", "task", "task_2"),
      held("net_ingress", "10.0.0.2", "node", "node_a"),
      held("net_ingress", "10.0.0.3", "node", "node_b"),
      held("net_ingress", "10.0.0.4", "task", "task_1"),
      held("net_ingress", "10.0.0.5", "task", "task_2"),
    ],
    nodes: [
      { id: "node_a", addr: "192.168.1.1", overlay: { ...overlay, underlayMtu: 1400 }, state: "ready" },
      { id: "node_b", addr: "192.168.1.2", overlay, state: "ready" },
    ],
    services: [web],
    tasks: [
      { id: "task_1", serviceId: "svc_web", nodeId: "node_a", slot: 1, state: "running", desiredState: "running" },
      { id: "task_2", serviceId: "svc_web", nodeId: "node_b", slot: 2, state: "starting", desiredState: "running" },
    ],
  };

  it("gives node_a its address, its peer, the remote task's route, the service's VIP and running endpoints, and the mesh", async () => {
    const doc = (await buildNetworkDocument(new NetworkIndex(view), "node_a"))!;
    const appNet = doc.networks.find((n) => n.id === "net_app")!;
    expect(appNet).toMatchObject({ nodeIp: "10.0.9.2", vtepMac: "02:5a:0a:00:09:02", mtu: 1350, ingress: false });
    expect(appNet.peers).toEqual([{ nodeId: "node_b", underlay: "192.168.1.2", nodeIp: "10.0.9.3", vtepMac: vtepMacOf("10.0.9.3") }]);
    expect(appNet.routes).toEqual([{ ip: "10.0.9.6", nodeId: "node_b" }]);
    expect(appNet.services).toEqual([
      {
        id: "svc_web",
        name: "web",
        aliases: ["www"],
        endpointMode: "vip",
        vip: "10.0.9.4",
        ports: [{ protocol: "tcp", targetPort: 80 }],
        endpoints: [{ taskId: "task_1", nodeId: "node_a", ip: "10.0.9.5", dnsName: "web.1.task_1" }],
      },
    ]);
    expect(doc.networks.find((n) => n.ingress)!.services).toEqual([]);
    expect(doc.mesh).toEqual([{ protocol: "tcp", publishedPort: 8080, targetPort: 80, serviceId: "svc_web", targets: ["10.0.0.4"] }]);
  });

  it("gives the same token for the same view, another when an endpoint changes, and none to a node without overlays", async () => {
    const a = (await buildNetworkDocument(new NetworkIndex(view), "node_a"))!;
    const again = (await buildNetworkDocument(new NetworkIndex(structuredClone(view)), "node_a"))!;
    expect(again.token).toBe(a.token);
    const started = { ...view, tasks: view.tasks.map((t) => ({ ...t, state: "running" as const })) };
    expect((await buildNetworkDocument(new NetworkIndex(started), "node_a"))!.token).not.toBe(a.token);
    const plain = { ...view, nodes: [...view.nodes, { id: "node_c", addr: "192.168.1.3", overlay: null, state: "ready" as const }] };
    expect(await buildNetworkDocument(new NetworkIndex(plain), "node_c")).toBeUndefined();
  });

  it("an encrypted network: each peer's WireGuard key, tunnel address and port, this host's tunnel address; a peer that cannot encrypt gets none", async () => {
    const keyA = "dtj3R/5SnFn8tUFuED6qU1pqZmR/f8KknddqgOq1FEE=";
    const keyB = "mR7Yj1Yc3nNq3b2q0S0sEsQpF3v8m7q3sB7Y0m3Z0mE=";
    const wg = (wgPublicKey: string) => ({ ...overlay, capabilities: { ...overlay.capabilities, wireguard: "go" as const }, wgPublicKey });
    const encrypted: NetworkView = {
      ...view,
      networks: view.networks.map((n) => (n.id === "net_app" ? { ...n, encrypted: true } : n)),
      nodes: [
        { id: "node_a", addr: "192.168.1.1", overlay: wg(keyA), state: "ready" },
        { id: "node_b", addr: "192.168.1.2", overlay: wg(keyB), state: "ready" },
      ],
    };
    const addrs = wireguardAddresses(encrypted.nodes);
    const a = (await buildNetworkDocument(new NetworkIndex(encrypted), "node_a"))!;
    expect(a.wg).toEqual({ addr: addrs.get("node_a"), port: 51820 });
    const appNet = a.networks.find((n) => n.id === "net_app")!;
    expect(appNet.mtu).toBe(1500 - 50 - 80);
    expect(appNet.peers).toEqual([{ nodeId: "node_b", underlay: "192.168.1.2", nodeIp: "10.0.9.3", vtepMac: vtepMacOf("10.0.9.3"), wg: { publicKey: keyB, addr: addrs.get("node_b"), port: 51820 } }]);
    // Not on the plain ingress network.
    expect(a.networks.find((n) => n.ingress)!.peers[0]!.wg).toBeUndefined();
    const b = (await buildNetworkDocument(new NetworkIndex(encrypted), "node_b"))!;
    expect(b.wg!.addr).toBe(addrs.get("node_b"));
    const noKey = { ...encrypted, nodes: [encrypted.nodes[0]!, { ...encrypted.nodes[1]!, overlay }] };
    expect((await buildNetworkDocument(new NetworkIndex(noKey), "node_a"))!.networks.find((n) => n.id === "net_app")!.peers[0]!.wg).toBeUndefined();
    expect((await buildNetworkDocument(new NetworkIndex(noKey), "node_b"))!.wg).toBeUndefined();
    expect((await buildNetworkDocument(new NetworkIndex(view), "node_a"))!.wg).toBeUndefined();
  });

  it("tunnel addresses: one per host that can encrypt, distinct, in the range, the same whatever the order", () => {
    const can = { ...overlay, capabilities: { ...overlay.capabilities, wireguard: "kernel" as const }, wgPublicKey: "dtj3R/5SnFn8tUFuED6qU1pqZmR/f8KknddqgOq1FEE=" };
    const nodes = Array.from({ length: 2000 }, (_, i) => ({ id: `node_${i.toString(36)}`, overlay: i % 10 === 0 ? overlay : can }));
    const addrs = wireguardAddresses(nodes);
    expect(addrs.size).toBe(1800);
    expect(new Set(addrs.values()).size).toBe(1800);
    for (const a of addrs.values()) expect(contains(wireguardRange, parseIpv4(a)!)).toBe(true);
    expect(wireguardAddresses([...nodes].reverse())).toEqual(addrs);
  });

  it("lists a task's attachments in order, and none until each has its address", () => {
    const index = new NetworkIndex(view);
    expect(attachmentsOf(index, "task_1", web.spec, true)).toEqual([
      { networkId: "net_app", ip: "10.0.9.5", aliases: ["www"] },
      { networkId: "net_ingress", ip: "10.0.0.4", aliases: [] },
    ]);
    expect(attachmentsOf(index, "task_9", web.spec, true)).toBeUndefined();
    expect(attachmentsOf(index, "task_9", web.spec, false)).toEqual([]);
  });
});
