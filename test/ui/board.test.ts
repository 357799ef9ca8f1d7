import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { desiredStates, taskStates } from "../../src/domain/task-states.js";
import { filterColumns, layoutBoard, paletteSize, serviceColour, taskHistory } from "../../src/ui/board.js";
import { apiNode, apiService, apiTask } from "./fixtures.js";

const web = apiService("svc_web", {
  name: "web",
  replicas: 3,
  task: { container: { image: "nginx:1", healthcheck: { test: ["CMD", "true"] } }, resources: { reservations: { nanoCpus: 5e8, memoryBytes: 256 * 1024 ** 2 } } },
});
const db = apiService("svc_db", { name: "db", mode: "global" });

describe("the board's layout", () => {
  const nodes = [
    apiNode("n10", "host10"),
    apiNode("n2", "host2", { state: "down" }),
    apiNode("m1", "zeta", { role: "manager", availability: "drain" }),
  ];
  const tasks = [
    apiTask("t1", "svc_web", { nodeId: "n10", slot: 1 }),
    apiTask("t2", "svc_web", { nodeId: "n10", slot: 2, state: "starting" }),
    apiTask("t3", "svc_web", { nodeId: null, slot: 3, state: "pending" }),
    apiTask("t4", "svc_db", { nodeId: "n2", slot: null }),
    // Replaced and stopped tasks are history, not cards.
    apiTask("t5", "svc_web", { nodeId: "n10", slot: 1, desiredState: "shutdown", state: "shutdown" }),
    apiTask("t6", "svc_web", { nodeId: "n2", slot: 2, state: "failed" }),
  ];
  const board = layoutBoard({ nodes, services: [web, db], tasks });

  it("has a column per node: managers first, then hostnames in natural order", () => {
    expect(board.columns.map((c) => c.node.description.hostname)).toEqual(["zeta", "host2", "host10"]);
  });

  it("puts a card for each running or starting task in its node's column, by name", () => {
    const cards = Object.fromEntries(board.columns.map((c) => [c.node.id, c.cards.map((card) => [card.label, card.state, card.health])]));
    expect(cards).toEqual({
      m1: [],
      n2: [["db", "running", undefined]],
      n10: [
        ["web.1", "running", "healthy"],
        ["web.2", "starting", "starting"],
      ],
    });
  });

  it("lists tasks no node took apart", () => {
    expect(board.unplaced.map((c) => [c.label, c.state])).toEqual([["web.3", "pending"]]);
  });

  it("marks down and unavailable nodes", () => {
    expect(board.columns.map((c) => [c.node.id, c.down, c.unavailable])).toEqual([
      ["m1", false, true],
      ["n2", true, false],
      ["n10", false, false],
    ]);
  });

  it("sums the reservations of a node's tasks", () => {
    expect(board.columns.find((c) => c.node.id === "n10")!.reserved).toEqual({ nanoCpus: 1e9, memoryBytes: 512 * 1024 ** 2 });
  });

  it("gives a service one colour on every node", () => {
    const colours = board.columns.flatMap((c) => c.cards).filter((c) => c.serviceName === "web").map((c) => c.colour);
    expect(new Set(colours)).toEqual(new Set([serviceColour("svc_web")]));
  });

  it("filters columns by hostname, state, availability, label or service, every word matching", () => {
    const labelled = layoutBoard({
      nodes: [apiNode("a", "edge-1", { labels: { zone: "eu" } }), apiNode("b", "edge-2", { labels: { zone: "us" } }), apiNode("c", "core-1")],
      services: [web],
      tasks: [apiTask("t", "svc_web", { nodeId: "c" })],
    }).columns;
    const hosts = (q: string) => filterColumns(labelled, q).map((c) => c.node.description.hostname);
    expect(hosts("")).toEqual(["core-1", "edge-1", "edge-2"]);
    expect(hosts("edge")).toEqual(["edge-1", "edge-2"]);
    expect(hosts("EDGE zone=eu")).toEqual(["edge-1"]);
    expect(hosts("web")).toEqual(["core-1"]);
    expect(hosts("nothing")).toEqual([]);
  });

  it("places every task that should run exactly once, on its own node, at any size", () => {
    const arbitraryTask = fc.record({
      node: fc.option(fc.integer({ min: 0, max: 120 }), { nil: null }),
      service: fc.constantFrom("svc_web", "svc_db", "svc_gone"),
      state: fc.constantFrom(...taskStates),
      desired: fc.constantFrom(...desiredStates),
    });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), fc.array(arbitraryTask, { maxLength: 300 }), (nodeCount, specs) => {
        const nodes = Array.from({ length: nodeCount }, (_, i) => apiNode(`n${i}`, `host${i}`));
        const tasks = specs.map((s, i) => apiTask(`t${i}`, s.service, { nodeId: s.node === null ? null : `n${s.node}`, state: s.state, desiredState: s.desired, slot: i }));
        const b = layoutBoard({ nodes, services: [web, db], tasks });
        expect(b.columns).toHaveLength(nodeCount);
        const placed = b.columns.flatMap((c) => c.cards.map((card) => (expect(card.task.nodeId).toBe(c.node.id), card.task.id)));
        const all = [...placed, ...b.unplaced.map((c) => c.task.id)];
        expect(new Set(all).size).toBe(all.length);
        for (const card of b.columns.flatMap((c) => c.cards)) expect(card.colour).toBeLessThan(paletteSize);
        const known = new Set(nodes.map((n) => n.id));
        const expected = tasks.filter(
          (t) => ["ready", "running"].includes(t.desiredState) && taskStates.indexOf(t.status.state) <= taskStates.indexOf("running") && (t.nodeId === null || known.has(t.nodeId)),
        );
        expect(new Set(all)).toEqual(new Set(expected.map((t) => t.id)));
      }),
    );
  });
});

describe("a service's task history", () => {
  it("groups tasks by slot, or by node for a global service, newest first", () => {
    const nodes = [apiNode("n1", "host1"), apiNode("n2", "host2")];
    const tasks = [
      apiTask("a", "svc_web", { slot: 2, createdAt: "2026-01-01T00:00:01.000Z" }),
      apiTask("b", "svc_web", { slot: 2, createdAt: "2026-01-01T00:00:05.000Z" }),
      apiTask("c", "svc_web", { slot: 10 }),
      apiTask("d", "svc_db", { slot: null, nodeId: "n2" }),
    ];
    expect(taskHistory(tasks, web, nodes).map((h) => [h.slot, h.tasks.map((t) => t.id)])).toEqual([
      ["web.2", ["b", "a"]],
      ["web.10", ["c"]],
    ]);
    expect(taskHistory(tasks, db, nodes).map((h) => [h.slot, h.tasks.map((t) => t.id)])).toEqual([["db on host2", ["d"]]]);
  });
});
