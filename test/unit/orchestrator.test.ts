import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FakeCluster, fixtureNode, fixtureService, fixtureSpec, t0 } from "../helpers/cluster-fixtures.js";

const nodes = (n: number, over: Parameters<typeof fixtureNode>[1] = {}) =>
  Array.from({ length: n }, (_, i) => fixtureNode(`node_${String(i).padStart(3, "0")}`, over));
const running = (c: FakeCluster) => c.report((t) => t.state === "assigned", "running");
const perNode = (c: FakeCluster, serviceId: string) => {
  const m = new Map<string, number>();
  for (const t of c.up(serviceId)) if (t.nodeId) m.set(t.nodeId, (m.get(t.nodeId) ?? 0) + 1);
  return m;
};

describe("replicated orchestrator", () => {
  it("creates one task per slot, assigned, spread evenly", () => {
    const c = new FakeCluster(nodes(3), [fixtureService("svc_a", fixtureSpec({ name: "web", replicas: 6 }))]);
    c.reconcile();
    expect(c.up().map((t) => t.slot).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(c.up().every((t) => t.state === "assigned")).toBe(true);
    expect([...perNode(c, "svc_a").values()]).toEqual([2, 2, 2]);
  });

  it("a second pass with nothing changed plans nothing", () => {
    const c = new FakeCluster(nodes(3), [fixtureService("svc_a", fixtureSpec({ name: "web", replicas: 4 }))]);
    c.reconcile();
    const plan = c.reconcile();
    expect([plan.inserted.length, plan.updated.length, plan.deleted.length]).toEqual([0, 0, 0]);
  });

  it("scale down removes from the busiest node first, non-running tasks first", () => {
    const svc = fixtureService("svc_a", fixtureSpec({ name: "web", replicas: 4 }));
    const c = new FakeCluster(nodes(2), [svc]);
    c.reconcile();
    running(c);
    // a third node joins and gets nothing (no rebalancing); then scale to 3 after adding one more task there
    c.nodes.push(fixtureNode("node_100"));
    svc.spec = { ...svc.spec, replicas: 5 };
    c.reconcile();
    expect(perNode(c, "svc_a").get("node_100")).toBe(1);
    // node_100's task is not running yet; scaling down by one removes it first
    svc.spec = { ...svc.spec, replicas: 4 };
    c.reconcile();
    expect(perNode(c, "svc_a").get("node_100") ?? 0).toBe(0);
    running(c);
    // now 2+2: scaling to 3 removes one from either; to 2 leaves one per node
    svc.spec = { ...svc.spec, replicas: 2 };
    c.reconcile();
    expect([...perNode(c, "svc_a").values()].sort()).toEqual([1, 1]);
  });

  it("replaces the tasks of a down node elsewhere at once, and of a drained node", () => {
    const c = new FakeCluster(nodes(3), [fixtureService("svc_a", fixtureSpec({ name: "web", replicas: 6 }))]);
    c.reconcile();
    running(c);
    c.nodes[0] = { ...c.nodes[0]!, state: "down" };
    c.reconcile();
    expect(c.up("svc_a")).toHaveLength(6);
    expect(perNode(c, "svc_a").get("node_000") ?? 0).toBe(0);
    const replaced = c.tasks.filter((t) => t.nodeId === "node_000");
    expect(replaced.every((t) => t.desiredState === "shutdown")).toBe(true);
    running(c);
    c.nodes[1] = { ...c.nodes[1]!, availability: "drain" };
    c.reconcile();
    expect([...perNode(c, "svc_a").entries()]).toEqual([["node_002", 6]]);
    expect(c.up("svc_a").every((t) => t.restartAt === null)).toBe(true);
  });

  it("rejects and reschedules tasks whose node no longer meets the constraints", () => {
    const spec = fixtureSpec({ name: "db", replicas: 1, task: { container: { image: "pg" }, placement: { constraints: ["node.labels.disk==ssd"] } } });
    const c = new FakeCluster([fixtureNode("node_a", { labels: { disk: "ssd" } }), fixtureNode("node_b", { labels: { disk: "ssd" } })], [fixtureService("svc_db", spec)]);
    c.reconcile();
    running(c);
    const first = c.up()[0]!;
    c.nodes = c.nodes.map((n) => (n.id === first.nodeId ? { ...n, labels: {} } : n));
    c.reconcile();
    expect(c.tasks.find((t) => t.id === first.id)).toMatchObject({ state: "rejected", desiredState: "shutdown" });
    expect(c.up()).toHaveLength(1);
    expect(c.up()[0]!.nodeId).not.toBe(first.nodeId);
  });

  it("leaves a task that fits nowhere pending with the reason, and places it once a node fits", () => {
    const spec = fixtureSpec({ name: "big", task: { container: { image: "x" }, resources: { reservations: { memoryBytes: 64 * 1024 ** 3 } } } });
    const c = new FakeCluster(nodes(2), [fixtureService("svc_big", spec)]);
    c.reconcile();
    expect(c.up()[0]).toMatchObject({ state: "pending", stateMessage: expect.stringMatching(/^no suitable node \(insufficient resources on 2 nodes\)/) });
    c.nodes.push(fixtureNode("node_huge", { memoryBytes: 128 * 1024 ** 3 }));
    c.reconcile();
    expect(c.up()[0]).toMatchObject({ state: "assigned", nodeId: "node_huge" });
  });

  it.each([
    ["any", 0, true],
    ["any", 3, true],
    ["on-failure", 0, false],
    ["on-failure", 3, true],
    ["none", 3, false],
  ] as const)("restart condition %s, exit code %i → restarted: %s", (condition, exitCode, restarted) => {
    const spec = fixtureSpec({ name: "w", task: { container: { image: "x" }, restartPolicy: { condition, delayMs: 5000 } } });
    const c = new FakeCluster(nodes(1), [fixtureService("svc_w", spec)]);
    c.reconcile();
    running(c);
    c.report(() => true, exitCode === 0 ? "complete" : "failed", exitCode);
    c.reconcile();
    const fresh = c.tasks.filter((t) => t.state === "pending" || t.state === "assigned");
    expect(fresh.length).toBe(restarted ? 1 : 0);
    if (restarted) {
      // The restart waits for its delay as desired "ready", then runs.
      expect(fresh[0]).toMatchObject({ slot: 1, desiredState: "ready", restartAt: t0 + 5000, attempt: 1 });
      c.now += 5000;
      c.reconcile();
      expect(c.tasks.find((t) => t.id === fresh[0]!.id)).toMatchObject({ desiredState: "running", restartAt: null });
    }
  });

  it("stops restarting after max attempts", () => {
    const spec = fixtureSpec({ name: "w", task: { container: { image: "x" }, restartPolicy: { condition: "any", delayMs: 0, maxAttempts: 2 } } });
    const c = new FakeCluster(nodes(1), [fixtureService("svc_w", spec)]);
    c.reconcile();
    for (let i = 0; i < 5; i++) {
      c.report((t) => t.desiredState === "running" && t.state === "assigned", "failed", 1);
      c.reconcile();
    }
    expect(c.tasks.filter((t) => t.slot === 1)).toHaveLength(3);
    expect(c.up()[0]).toMatchObject({ state: "failed", attempt: 2 });
  });

  it("rolls outdated slots `parallelism` at a time, waiting for the new tasks to run", () => {
    const svc = fixtureService("svc_a", fixtureSpec({ name: "web", replicas: 4, update: { parallelism: 2 } }));
    const c = new FakeCluster(nodes(2), [svc]);
    c.reconcile();
    running(c);
    svc.spec = fixtureSpec({ name: "web", replicas: 4, update: { parallelism: 2 }, task: { container: { image: "busybox:2" } } });
    c.reconcile();
    const fresh = () => c.up("svc_a").filter((t) => t.createdAt === c.now && t.id > "task_000004");
    expect(fresh()).toHaveLength(2);
    c.reconcile();
    expect(fresh()).toHaveLength(2); // waits: the new ones are not running yet
    running(c);
    c.reconcile();
    expect(fresh()).toHaveLength(4);
    expect(c.up("svc_a")).toHaveLength(4);
  });

  it("keeps at most the history limit of old tasks per slot", () => {
    const spec = fixtureSpec({ name: "w", task: { container: { image: "x" }, restartPolicy: { delayMs: 0 } } });
    const c = new FakeCluster(nodes(1), [fixtureService("svc_w", spec)], 3);
    c.reconcile();
    for (let i = 0; i < 8; i++) {
      c.report((t) => t.desiredState === "running", "failed", 1);
      c.reconcile();
    }
    expect(c.tasks.filter((t) => t.slot === 1)).toHaveLength(4); // the current one and 3 old ones
  });

  it("a removed service's tasks are removed", () => {
    const c = new FakeCluster(nodes(2), [fixtureService("svc_a", fixtureSpec({ name: "web", replicas: 2 }))]);
    c.reconcile();
    running(c);
    c.services = [];
    c.reconcile();
    expect(c.tasks.every((t) => t.desiredState === "remove")).toBe(true);
    c.report(() => true, "shutdown");
    c.reconcile();
    expect(c.tasks).toEqual([]);
  });
});

describe("global orchestrator", () => {
  it("one task per eligible node; new nodes get one; drained and down nodes lose theirs; paused keep theirs", () => {
    const c = new FakeCluster(nodes(3), [fixtureService("svc_g", fixtureSpec({ name: "agent", mode: "global" }))]);
    c.reconcile();
    expect([...perNode(c, "svc_g").values()]).toEqual([1, 1, 1]);
    running(c);
    c.nodes.push(fixtureNode("node_new"));
    c.nodes[0] = { ...c.nodes[0]!, availability: "drain" };
    c.nodes[1] = { ...c.nodes[1]!, state: "down" };
    c.nodes[2] = { ...c.nodes[2]!, availability: "pause" };
    c.reconcile();
    expect([...perNode(c, "svc_g").keys()].sort()).toEqual(["node_002", "node_new"]);
  });

  it("property: exactly one task per eligible node", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ state: fc.constantFrom("ready", "down"), availability: fc.constantFrom("active", "pause", "drain"), zone: fc.constantFrom("a", "b") }),
          { minLength: 1, maxLength: 12 },
        ),
        (specs) => {
          const ns = specs.map((s, i) => fixtureNode(`node_${i}`, { state: s.state as "ready", availability: s.availability as "active", labels: { zone: s.zone } }));
          const spec = fixtureSpec({ name: "g", mode: "global", task: { container: { image: "x" }, placement: { constraints: ["node.labels.zone==a"] } } });
          const c = new FakeCluster(ns, [fixtureService("svc_g", spec)]);
          c.reconcile();
          const counts = perNode(c, "svc_g");
          for (const n of ns) {
            const eligible = n.state === "ready" && n.availability === "active" && n.labels.zone === "a";
            expect(counts.get(n.id) ?? 0).toBe(eligible ? 1 : 0);
          }
        },
      ),
    );
  });
});

describe("jobs", () => {
  it("replicated job: runs maxConcurrent at a time until total completions, never restarting a success", () => {
    const c = new FakeCluster(nodes(2), [fixtureService("svc_j", fixtureSpec({ name: "batch", mode: "replicated-job", replicas: 5, maxConcurrent: 2 }))]);
    c.reconcile();
    expect(c.up("svc_j")).toHaveLength(2);
    for (let i = 0; i < 5; i++) {
      c.report((t) => t.state === "assigned", "complete", 0);
      c.reconcile();
    }
    expect(c.tasks.filter((t) => t.state === "complete")).toHaveLength(5);
    expect(c.up("svc_j")).toHaveLength(0);
  });

  it("global job: runs once per node and is re-run by an update", () => {
    const svc = fixtureService("svc_gj", fixtureSpec({ name: "migrate", mode: "global-job" }));
    const c = new FakeCluster(nodes(2), [svc]);
    c.reconcile();
    c.report(() => true, "complete", 0);
    c.reconcile();
    expect(c.tasks.filter((t) => t.state === "pending" || t.state === "assigned")).toHaveLength(0);
    svc.spec = fixtureSpec({ name: "migrate", mode: "global-job", task: { container: { image: "busybox:2" } } });
    c.reconcile();
    expect(c.tasks.filter((t) => t.state === "assigned")).toHaveLength(2);
  });
});

describe("property: replicated services converge", () => {
  it("exactly `replicas` slots desired up after any sequence of scales, failures and node changes", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant("scale" as const), replicas: fc.integer({ min: 0, max: 12 }) }),
            fc.record({ kind: fc.constant("fail" as const), which: fc.nat() }),
            fc.record({ kind: fc.constant("node" as const), which: fc.nat(), to: fc.constantFrom("down", "ready", "drain", "active") }),
          ),
          { maxLength: 15 },
        ),
        (ops) => {
          const svc = fixtureService("svc_p", fixtureSpec({ name: "p", replicas: 3, task: { container: { image: "x" }, restartPolicy: { delayMs: 0 } } }));
          const c = new FakeCluster(nodes(4), [svc]);
          c.reconcile();
          for (const op of ops) {
            if (op.kind === "scale") svc.spec = { ...svc.spec, replicas: op.replicas };
            if (op.kind === "fail") {
              const up = c.up().filter((t) => t.state === "assigned" || t.state === "running");
              if (up.length) Object.assign(up[op.which % up.length]!, { state: "failed", exitCode: 1 });
            }
            if (op.kind === "node") {
              const i = op.which % c.nodes.length;
              const n = c.nodes[i]!;
              c.nodes[i] = op.to === "down" || op.to === "ready" ? { ...n, state: op.to } : { ...n, availability: op.to };
            }
            c.reconcile();
            running(c);
          }
          const up = c.up("svc_p");
          expect(new Set(up.map((t) => t.slot)).size).toBe(svc.spec.replicas);
          const usable = new Set(c.nodes.filter((n) => n.state === "ready" && n.availability !== "drain").map((n) => n.id));
          for (const t of up) if (t.nodeId) expect(usable).toContain(t.nodeId);
        },
      ),
    );
  });
});
